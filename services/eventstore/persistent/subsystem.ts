// All subscription groups of one store: their configs, which are persisted in the log so they
// survive restarts, and the running groups started from them.
import type { EventLog } from "../log";
import { CONFIG_STREAM, ConfigWriter, loadConfigs } from "./config-store";
import { subscriptionDoesNotExist, subscriptionDropped, subscriptionExists } from "./errors";
import { SubscriptionGroup, type GroupLogger } from "./group";
import { groupKey, type GroupConfig } from "./settings";
import { deleteGroupStreams } from "./system-streams";

export class PersistentSubscriptionSubsystem {
  /** What is persisted: changed only by create, update and delete (and loading). */
  private readonly configs = new Map<string, GroupConfig>();
  private groups = new Map<string, SubscriptionGroup>();
  private readonly configWriter: ConfigWriter;
  private closed = false;

  constructor(
    private readonly log: EventLog,
    private readonly logger: GroupLogger,
  ) {
    this.configWriter = new ConfigWriter(log, () => [...this.configs.values()]);
  }

  /** Starts a group for every config in the log's last readable snapshot. */
  start(): void {
    this.configs.clear();
    const loaded = loadConfigs(this.log, (error) => this.logger.error(`skipping an unreadable ${CONFIG_STREAM} snapshot`, error));
    for (const config of loaded) {
      const key = groupKey(config.stream, config.group);
      try {
        this.configs.set(key, config);
        this.startGroup(config);
      } catch (error) {
        this.configs.delete(key);
        this.groups.delete(key);
        this.logger.error(`persistent subscription ${key} could not start`, error);
      }
    }
  }

  get(stream: string, group: string): SubscriptionGroup {
    const found = this.groups.get(groupKey(stream, group));
    if (!found) throw subscriptionDoesNotExist(stream, group);
    return found;
  }

  list(stream?: string): SubscriptionGroup[] {
    const all = [...this.groups.values()];
    return stream === undefined ? all : all.filter((group) => group.config.stream === stream);
  }

  async create(config: GroupConfig): Promise<void> {
    const key = groupKey(config.stream, config.group);
    if (this.configs.has(key)) throw subscriptionExists(config.stream, config.group);
    this.configs.set(key, config);
    const group = this.startGroup(config);
    try {
      await this.configWriter.save();
    } catch (error) {
      if (this.configs.get(key) === config) this.configs.delete(key);
      if (this.groups.get(key) === group) this.groups.delete(key);
      await group.stop(subscriptionDropped(config.stream, config.group));
      throw error;
    }
  }

  /** Replaces a group's settings; its consumers are dropped and it resumes from its checkpoint. */
  async update(update: Omit<GroupConfig, "filter">): Promise<void> {
    const current = this.get(update.stream, update.group);
    const config: GroupConfig = { ...update, ...(current.config.filter ? { filter: current.config.filter } : {}) };
    this.configs.set(current.key, config);
    const saved = this.configWriter.save();
    await current.stop(subscriptionDropped(update.stream, update.group));
    // Deleted or replaced while it stopped: leave the newer state alone.
    if (this.groups.get(current.key) === current) this.startGroup(config);
    await saved;
  }

  async delete(stream: string, groupName: string): Promise<void> {
    const group = this.get(stream, groupName);
    this.configs.delete(group.key);
    this.groups.delete(group.key);
    const saved = this.configWriter.save();
    await group.stop(subscriptionDropped(stream, groupName));
    await saved;
    await deleteGroupStreams(this.log, group.key);
  }

  /** Stops every group and starts them again from the configs and checkpoints in the log. */
  async restart(): Promise<void> {
    await this.stopAll();
    await this.configWriter.flush();
    if (!this.closed) this.start();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stopAll();
    await this.configWriter.flush();
  }

  private async stopAll(): Promise<void> {
    const groups = [...this.groups.values()];
    this.groups = new Map();
    await Promise.all(groups.map((group) => group.stop(subscriptionDropped(group.config.stream, group.config.group))));
  }

  private startGroup(config: GroupConfig): SubscriptionGroup {
    const group = new SubscriptionGroup(config, this.log, this.logger);
    // Never leave a replaced group running unseen (a create racing a restart).
    void this.groups.get(group.key)?.stop(subscriptionDropped(config.stream, config.group));
    this.groups.set(group.key, group);
    group.start();
    return group;
  }
}
