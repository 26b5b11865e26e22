// Apache Kafka, one combined broker+controller in KRaft mode, from Maven Central jars (test/env/kafka/pom.xml).
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import type { KafkaState } from '../../support/env-state.ts';
import { eventually } from '../../support/eventually.ts';
import { freePorts, portsFree } from '../../support/ports.ts';
import {
  cacheDir,
  dataDirectory,
  envRoot,
  log,
  pidAlive,
  runAsync,
  serverStatus,
  startDetached,
  stateDir,
  stopPid,
  tcpRequest,
  which,
  type ServerStatus,
} from './common.ts';

const pom = path.join(envRoot, 'kafka', 'pom.xml');

export function kafkaVersion(): string {
  const m = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(fs.readFileSync(pom, 'utf8'));
  if (!m?.[1]) throw new Error(`no <kafka.version> in ${pom}`);
  return m[1];
}

/** Resolves the broker's jars into the cache (once per version). Returns the libs directory. */
export async function ensureKafkaJars(): Promise<string> {
  const version = kafkaVersion();
  const dir = path.join(cacheDir(), `kafka-${version}`);
  const libs = path.join(dir, 'libs');
  const marker = path.join(dir, '.complete');
  if (fs.existsSync(marker)) return libs;
  if (!which('mvn') || !which('java')) throw new Error('Kafka needs java (17+) and mvn on PATH');
  log(`resolving Kafka ${version} jars with Maven into ${libs}`);
  fs.rmSync(libs, { recursive: true, force: true });
  await runAsync('mvn', [
    '-q',
    '-B',
    '-f',
    pom,
    'dependency:copy-dependencies',
    '-DincludeScope=runtime',
    `-DoutputDirectory=${libs}`,
  ]);
  fs.writeFileSync(marker, `${new Date().toISOString()}\n`);
  return libs;
}

function javaArgs(libs: string, heap: string): string[] {
  return [
    `-Xmx${heap}`,
    '-Xms128m',
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
    '-Dorg.slf4j.simpleLogger.showDateTime=true',
    '-Dorg.slf4j.simpleLogger.log.kafka.server.KafkaRaftServer=info',
    '-cp',
    `${libs}/*`,
  ];
}

/** Metadata v4 request (not removed by KIP-896); ready when the answer lists at least one broker. */
export async function kafkaHealthy(port: number): Promise<boolean> {
  const clientId = Buffer.from('meshwave-env');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4 + 1);
  let o = 0;
  o = body.writeInt16BE(3, o); // api key Metadata
  o = body.writeInt16BE(4, o); // version
  o = body.writeInt32BE(7, o); // correlation id
  o = body.writeInt16BE(clientId.length, o);
  o += clientId.copy(body, o);
  o = body.writeInt32BE(0, o); // no topics
  body.writeInt8(0, o); // allow_auto_topic_creation
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  const res = await tcpRequest(
    port,
    Buffer.concat([size, body]),
    (b) => b.length >= 4 && b.length >= 4 + b.readInt32BE(0),
  );
  const correlation = res.readInt32BE(4);
  const brokers = res.readInt32BE(12);
  return correlation === 7 && brokers >= 1;
}

/**
 * Starts Kafka (or reuses a healthy one described by `prev`); ports are kept when still free. `emptyData`
 * (what `up` asks) starts from an empty log directory: thousands of earlier runs' topics slowed start-up.
 * A drill's restart keeps the data.
 */
export async function upKafka(
  prev: KafkaState | undefined,
  { emptyData = false }: { emptyData?: boolean } = {},
): Promise<KafkaState> {
  if (prev?.pid && pidAlive(prev.pid) && (await kafkaHealthy(prev.port).catch(() => false))) {
    log(`kafka: reusing pid ${prev.pid} on ${prev.port}`);
    return prev;
  }
  const libs = await ensureKafkaJars();
  const dir = path.join(stateDir(), 'kafka');
  const dataDir = dataDirectory(path.join(dir, 'data'), { empty: emptyData });
  let [port, controllerPort] = (prev ? [prev.port, prev.controllerPort] : await freePorts(2)) as [number, number];
  if (prev && !(await portsFree([port, controllerPort])))
    [port, controllerPort] = (await freePorts(2)) as [number, number];
  const props = path.join(dir, 'server.properties');
  fs.writeFileSync(props, serverProperties({ port, controllerPort, dataDir }));
  const idFile = path.join(dir, 'cluster.id');
  if (!fs.existsSync(idFile)) fs.writeFileSync(idFile, uuidBase64());
  const clusterId = fs.readFileSync(idFile, 'utf8').trim();
  // formatting costs a JVM start: only when the log directory was never formatted
  if (!fs.existsSync(path.join(dataDir, 'meta.properties'))) {
    await runAsync('java', [
      '-XX:TieredStopAtLevel=1',
      ...javaArgs(libs, '256m'),
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId,
      '-c',
      props,
      '--ignore-formatted',
    ]);
  }
  const logFile = path.join(dir, 'kafka.log');
  const heap = process.env['MESHWAVE_KAFKA_HEAP'] || '512m';
  const pid = startDetached('java', [...javaArgs(libs, heap), 'kafka.Kafka', props], { logFile, cwd: dir });
  log(`kafka: started pid ${pid} on 127.0.0.1:${port}, waiting for metadata`);
  try {
    await eventually('kafka', () => kafkaHealthy(port), {
      timeoutMs: 240_000,
      intervalMs: 500,
      alive: () => pidAlive(pid),
    });
  } catch (err) {
    await stopPid(pid, { graceMs: 5000 });
    throw err;
  }
  return {
    brokers: [`127.0.0.1:${port}`],
    port,
    controllerPort,
    pid,
    version: kafkaVersion(),
    clusterId,
    dataDir,
    logFile,
    configFile: props,
  };
}

export async function downKafka(state: KafkaState | undefined): Promise<void> {
  if (state?.pid) await stopPid(state.pid, { graceMs: 20_000 });
}

export function kafkaStatus(state: KafkaState | undefined): Promise<ServerStatus> {
  return serverStatus(
    state,
    (s) => kafkaHealthy(s.port),
    (s) => ({ brokers: s.brokers, version: s.version }),
  );
}

function serverProperties({
  port,
  controllerPort,
  dataDir,
}: {
  port: number;
  controllerPort: number;
  dataDir: string;
}): string {
  return `# written by test/env/lib/kafka.ts
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${dataDir}
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.segment.bytes=16777216
num.network.threads=2
num.io.threads=2
background.threads=2
`;
}

function uuidBase64(): string {
  // Kafka cluster ids are 16 random bytes in URL-safe base64 without padding (what `random-uuid` prints).
  return crypto.randomBytes(16).toString('base64url');
}
