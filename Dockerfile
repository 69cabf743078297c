# One image for every eventmall process; docker-compose.yml picks the entrypoint per service.
# better-sqlite3 ships a prebuilt binary for Node 24; the toolchain stays for the Emmett peer (sqlite3, benchmarks only).
FROM node:24-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates openssl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV CHECKPOINT_DISABLE=1
# postinstall generates both Prisma clients, which needs the schemas and prisma.config.ts.
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
COPY src/kernel/process/config.ts src/kernel/process/network.ts ./src/kernel/process/
RUN npm ci --no-audit --no-fund
COPY . .
ENV NODE_ENV=production \
    EVENTMALL_HOST=0.0.0.0 \
    DATA_DIR=/data
RUN mkdir -p /data && chown node:node /data
USER node
# Services run TypeScript through tsx as one process (signals reach the service itself).
CMD ["node", "--import", "tsx", "services/query/main.ts"]
