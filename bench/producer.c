/* bench_producer: fills a topic with realistic ~1 KB inference-request
 * messages for the throughput benchmark, as fast as librdkafka allows.
 *
 *   bench_producer BOOTSTRAP TOPIC COUNT PARTITIONS [MODE]
 *
 * MODE "mixed" (default): the verdict mix of a healthy fleet with a few
 * misbehaving clients, using the names of config/registry.yaml: registered,
 * alias, variant, typo, inactive, ~1,200 distinct unknown names, missing and a
 * little malformed JSON; one message in five also carries X-Model-Name.
 * MODE "flood": every message names a different never-seen model (the worst
 * case for the verdict cache and the series cap).
 *
 * Message i goes to partition i % PARTITIONS, so every partition gets the same
 * share. Prints one line "produced=N seconds=S" and exits 0 once every message
 * is acknowledged (acks=1). */
#include <librdkafka/rdkafka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile long g_failed = 0;

static void DeliveryCb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)opaque;
  if (m->err) g_failed++;
}

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static uint64_t Next(void) { /* xorshift64*: deterministic, so runs are comparable */
  g_rng ^= g_rng >> 12;
  g_rng ^= g_rng << 25;
  g_rng ^= g_rng >> 27;
  return g_rng * 2685821657736338717ull;
}

static double Now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const kRegistered[] = {"Qwen3-Next-80B-Optimized", "Qwen3-Next-72B-Cloud",
                                          "Llama3-70B-Local", "Qwen-Tiny", "StableDiffusionXL"};
static const char *const kAlias[] = {"qwen3_next_80b_optimized"};
static const char *const kVariant[] = {"qwen3-next-72b-cloud-prod", "Qwen3Next80BOptimized",
                                       "qwen-tiny-latest", "Llama3-70B-Local-v2"};
static const char *const kTypo[] = {"Qwen3-Next-80B-Optimzed", "Qwen3-Next-72B-Clod",
                                    "StableDifusionXL"};
static const char *const kInactive[] = {"Qwen2-7B", "Qwen3-14B-Chat"};
static const char *const kUnknownBase[] = {"Qwen3-Next-80B-Local", "gpt-4o-mini",
                                           "mistral-large-2407", "Llama-3.1-8B-Instruct",
                                           "deepseek-r1-distill", "phi-3-medium"};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const kPrompts[] = {
    "Summarize the following incident report for the on-call channel and list the three most "
    "likely root causes, ordered by how much evidence the logs give for each of them.",
    "Translate the customer's message into English, keep the product names untouched, and "
    "flag any sentence where the intent is ambiguous so that a human can review it later.",
    "Write a SQL query that returns the ten customers with the highest month-over-month growth "
    "in order volume, excluding internal test accounts and orders that were refunded.",
    "Explain to a new team member how our feature flags are evaluated at request time, what "
    "happens when the flag service is unreachable, and how stale values are refreshed.",
};

/* Picks the model name of message i for the mixed workload. Returns NULL for
 * "no name at all" (missing); sets *malformed for a broken document. */
static const char *MixedName(char *buf, size_t cap, int *malformed, int *conflict) {
  uint64_t r = Next() % 1000;
  *malformed = 0;
  *conflict = 0;
  if (r < 700) return kRegistered[Next() % COUNT(kRegistered)];
  if (r < 750) return kAlias[0];
  if (r < 800) return kVariant[Next() % COUNT(kVariant)];
  if (r < 830) return kTypo[Next() % COUNT(kTypo)];
  if (r < 860) return kInactive[Next() % COUNT(kInactive)];
  if (r < 960) {
    /* A long tail of team-specific names: ~1,200 distinct ones, more than the
     * default series cap of 1,000. */
    uint64_t t = Next() % 1200;
    if (t < COUNT(kUnknownBase)) return kUnknownBase[t];
    snprintf(buf, cap, "team%02u-%s-ft-%04u", (unsigned)(t % 40),
             kUnknownBase[t % COUNT(kUnknownBase)], (unsigned)t);
    return buf;
  }
  if (r < 990) return NULL;
  if (r < 995) *conflict = 1;
  else *malformed = 1;
  return kRegistered[0];
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s BOOTSTRAP TOPIC COUNT PARTITIONS [mixed|flood]\n", argv[0]);
    return 2;
  }
  const char *bootstrap = argv[1], *topic = argv[2];
  const long count = atol(argv[3]);
  const int partitions = atoi(argv[4]);
  const int flood = argc > 5 && strcmp(argv[5], "flood") == 0;
  if (count <= 0 || partitions <= 0) {
    fprintf(stderr, "bench_producer: COUNT and PARTITIONS must be positive\n");
    return 2;
  }

  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  const char *settings[][2] = {
      {"bootstrap.servers", bootstrap}, {"acks", "1"},
      {"linger.ms", "20"},              {"batch.num.messages", "10000"},
      {"batch.size", "1000000"},        {"queue.buffering.max.messages", "1000000"},
      {"queue.buffering.max.kbytes", "1048576"},
  };
  for (size_t i = 0; i < COUNT(settings); i++) {
    if (rd_kafka_conf_set(conf, settings[i][0], settings[i][1], err, sizeof err) !=
        RD_KAFKA_CONF_OK) {
      fprintf(stderr, "bench_producer: %s\n", err);
      return 1;
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, DeliveryCb);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "bench_producer: %s\n", err);
    return 1;
  }

  const double start = Now();
  char name_buf[128], body[1600], req_id[40];
  for (long i = 0; i < count; i++) {
    const char *name;
    int malformed = 0, conflict = 0;
    if (flood) {
      snprintf(name_buf, sizeof name_buf, "tenant%06ld-%s-ft-%08llx", i % 1000000,
               kUnknownBase[i % COUNT(kUnknownBase)], (unsigned long long)(Next() & 0xffffffffu));
      name = name_buf;
    } else {
      name = MixedName(name_buf, sizeof name_buf, &malformed, &conflict);
    }
    snprintf(req_id, sizeof req_id, "%016llx%016llx", (unsigned long long)Next(),
             (unsigned long long)Next());
    const char *prompt = kPrompts[Next() % COUNT(kPrompts)];
    char name_field[200] = "";
    if (name) snprintf(name_field, sizeof name_field, "\"model\":\"%s\",", name);
    /* ~1 KB: an OpenAI-style chat request with the metadata gateways add. */
    int len = snprintf(
        body, sizeof body,
        "{\"request_id\":\"%s\",\"created\":%lld,%s\"messages\":[{\"role\":\"system\","
        "\"content\":\"You are a helpful assistant for the internal platform team. Answer "
        "precisely, cite the runbook section when one applies, and say so when unsure.\"},"
        "{\"role\":\"user\",\"content\":\"%s %s\"}],\"temperature\":0.%u,\"top_p\":0.95,"
        "\"max_tokens\":%u,\"stream\":%s,\"n\":1,\"stop\":[\"\\n\\nUser:\"],\"presence_penalty\":0,"
        "\"frequency_penalty\":0,\"logprobs\":false,\"response_format\":{\"type\":\"text\"},\"user\":\"svc-%02u\",\"metadata\":{\"tenant\":"
        "\"team-%02u\",\"region\":\"eu-west-%u\",\"gateway\":\"gw-%u\",\"trace_id\":"
        "\"%016llx\",\"client\":\"python-openai/1.%u.0\",\"priority\":\"%s\"}}",
        req_id, 1764400000000LL + i, name_field, prompt, prompt, (unsigned)(Next() % 10),
        (unsigned)(256 + Next() % 1792), (Next() & 1) ? "true" : "false",
        (unsigned)(Next() % 60), (unsigned)(Next() % 40), (unsigned)(1 + Next() % 3),
        (unsigned)(Next() % 8), (unsigned long long)Next(), (unsigned)(Next() % 50),
        (Next() % 4) ? "normal" : "high");
    if (malformed) len /= 2; /* truncated document: invalid JSON */
    const char *header = NULL;
    if (name && (flood ? (i % 5 == 0) : (Next() % 5 == 0))) header = name;
    if (conflict) header = kRegistered[1];
    rd_kafka_resp_err_t e;
    for (;;) {
      if (header) {
        e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                              RD_KAFKA_V_PARTITION((int32_t)(i % partitions)),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_VALUE(body, (size_t)len),
                              RD_KAFKA_V_HEADER("X-Model-Name", header, (ssize_t)strlen(header)),
                              RD_KAFKA_V_END);
      } else {
        e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                              RD_KAFKA_V_PARTITION((int32_t)(i % partitions)),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_VALUE(body, (size_t)len), RD_KAFKA_V_END);
      }
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
      rd_kafka_poll(rk, 10);
    }
    if (e) {
      fprintf(stderr, "bench_producer: produce failed: %s\n", rd_kafka_err2str(e));
      return 1;
    }
    if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
  }
  while (rd_kafka_outq_len(rk) > 0) rd_kafka_poll(rk, 100);
  rd_kafka_destroy(rk);
  if (g_failed) {
    fprintf(stderr, "bench_producer: %ld messages failed delivery\n", g_failed);
    return 1;
  }
  printf("produced=%ld seconds=%.2f\n", count, Now() - start);
  return 0;
}
