/* bench_raw_consumer: the floor of the throughput benchmark. A consumer group
 * member that subscribes, polls and destroys each message and does nothing
 * else, with the same librdkafka settings that lib/kafka/consumer.cc uses, so
 * the difference to model-auditor is the audit work itself.
 *
 *   bench_raw_consumer BOOTSTRAP TOPIC GROUP COUNT [PROPERTY=VALUE...]
 *
 * Extra PROPERTY=VALUE arguments override librdkafka settings (experiments).
 *
 * Exits 0 once COUNT messages were polled; prints "consumed=N seconds=S
 * done_at=T" (seconds since process start; T: CLOCK_MONOTONIC when the COUNTth
 * message was polled, before the group is left, for the driver's clock). */
#include <librdkafka/rdkafka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Keep in step with BuildConsumerConf() in lib/kafka/consumer.cc. */
static const char kQueuedMinMessages[] = "50000";
static const char kQueuedMaxKbytes[] = "65536";

static double Now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int Set(rd_kafka_conf_t *conf, const char *name, const char *value) {
  char err[512];
  if (rd_kafka_conf_set(conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "bench_raw_consumer: %s: %s\n", name, err);
    return 0;
  }
  return 1;
}

int main(int argc, char **argv) {
  const double start = Now();
  if (argc < 5) {
    fprintf(stderr, "usage: %s BOOTSTRAP TOPIC GROUP COUNT [PROPERTY=VALUE...]\n", argv[0]);
    return 2;
  }
  const long want = atol(argv[4]);
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (!Set(conf, "bootstrap.servers", argv[1]) || !Set(conf, "group.id", argv[3]) ||
      !Set(conf, "enable.auto.offset.store", "false") || !Set(conf, "enable.auto.commit", "true") ||
      !Set(conf, "auto.offset.reset", "earliest") ||
      !Set(conf, "partition.assignment.strategy", "range,roundrobin") ||
      !Set(conf, "queued.min.messages", kQueuedMinMessages) ||
      !Set(conf, "queued.max.messages.kbytes", kQueuedMaxKbytes)) {
    return 1;
  }
  for (int i = 5; i < argc; i++) {
    char *eq = strchr(argv[i], '=');
    if (!eq) {
      fprintf(stderr, "bench_raw_consumer: expected PROPERTY=VALUE, got '%s'\n", argv[i]);
      return 2;
    }
    *eq = '\0';
    if (!Set(conf, argv[i], eq + 1)) return 2;
  }
  char err[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "bench_raw_consumer: %s\n", err);
    return 1;
  }
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, argv[2], RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, sub);
  rd_kafka_topic_partition_list_destroy(sub);
  if (e) {
    fprintf(stderr, "bench_raw_consumer: subscribe: %s\n", rd_kafka_err2str(e));
    return 1;
  }
  long got = 0;
  while (got < want) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (!m->err) got++;
    rd_kafka_message_destroy(m);
  }
  const double done_at = Now();
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  printf("consumed=%ld seconds=%.3f done_at=%.6f\n", got, done_at - start, done_at);
  return 0;
}
