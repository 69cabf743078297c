// All subscription groups of one store: their lifecycle and their configs, which are
// persisted in the log so they survive restarts.
import type { EventLog } from "../log";
import { CONFIG_STREAM, ConfigWriter, loadConfigs } from "./config-store";
import { subscriptionDoesNotExist, subscriptionDropped, subscriptionExists } from "./errors";
import { SubscriptionGroup, type GroupLogger } from "./group";
import { groupKey, type GroupConfig } from "./settings";
import { deleteGroupStreams } from "./system-streams";

export class PersistentSubscriptionSubsystem {
  private groups = new Map<string, SubscriptionGroup>();
  private readonly configWriter: ConfigWriter;
  private closed = false;

  constructor(
    private readonly log: EventLog,
    private readonly logger: GroupLogger,
  ) {
    this.configWriter = new ConfigWriter(log, () => [...this.groups.values()].map((group) => group.config));
  }

  start(): void {
    const configs = loadConfigs(this.log, (error) => this.logger.error(`skipping an unreadable ${CONFIG_STREAM} snapshot`, error));
    for (const config of configs) {
      try {
        this.startGroup(config);
      } catch (error) {
        this.groups.delete(groupKey(config.stream, config.group));
        this.logger.error(`persistent subscription ${groupKey(config.stream, config.group)} could not start`, error);
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
    if (this.groups.has(key)) throw subscriptionExists(config.stream, config.group);
    const group = this.startGroup(config);
    try {
      await this.configWriter.save();
    } catch (error) {
      if (this.groups.get(key) === group) this.groups.delete(key);
      await group.stop(subscriptionDropped(config.stream, config.group));
      throw error;
    }
  }

  /** Replaces a group's settings; its consumers are dropped and it resumes from its checkpoint. */
  async update(update: Omit<GroupConfig, "filter">): Promise<void> {
    const current = this.get(update.stream, update.group);
    const config: GroupConfig = { ...update, ...(current.config.filter ? { filter: current.config.filter } : {}) };
    this.groups.delete(current.key);
    await current.stop(subscriptionDropped(update.stream, update.group));
    this.startGroup(config);
    await this.configWriter.save();
  }

  async delete(stream: string, groupName: string): Promise<void> {
    const group = this.get(stream, groupName);
    this.groups.delete(group.key);
    // EventStoreDB shuts a deleted group's consumers down like any other: "dropped" (Unsubscribed).
    await group.stop(subscriptionDropped(stream, groupName));
    await this.configWriter.save();
    await deleteGroupStreams(this.log, group.key);
  }

  /** Stops every group and starts them again from the configs and checkpoints in the log. */
  async restart(): Promise<void> {
    await this.stopAll();
    if (!this.closed) this.start();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stopAll();
  }

  private async stopAll(): Promise<void> {
    const groups = [...this.groups.values()];
    this.groups = new Map();
    await Promise.all(groups.map((group) => group.stop(subscriptionDropped(group.config.stream, group.config.group))));
  }

  private startGroup(config: GroupConfig): SubscriptionGroup {
    const group = new SubscriptionGroup(config, this.log, this.logger);
    this.groups.set(group.key, group);
    group.start();
    return group;
  }
}
