/*
 * counter MIB [PERIOD_MS]
 *
 * Test workload for checkpoint/restore. At start it picks a seed (from the
 * clock and its pid), allocates MIB MiB, fills it with a pattern derived from
 * the seed and prints
 *
 *     start seed=<seed> mib=<MIB>
 *
 * then every PERIOD_MS milliseconds prints
 *
 *     tick <n> seed=<seed> mem=ok        (or mem=BAD)
 *
 * with n = 1, 2, 3, ... After a restore the process carries on with the next
 * n and the same seed, and the memory check still passes; a fresh start would
 * print a new "start" line with another seed.
 *
 * Memory check: the whole region when MIB <= 64, otherwise 4096 pages spread
 * evenly over the region, shifted by one page each tick so that successive
 * ticks cover all of it.
 *
 * SIGTERM and SIGINT end the program with exit status 0.
 *
 * Defaults: MIB 16, PERIOD_MS 200. Build: gcc -static -O2 -o counter counter.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE_BYTES 4096u
#define PAGE_WORDS (PAGE_BYTES / sizeof(uint64_t))
#define FULL_CHECK_MAX_MIB 64u
#define SAMPLE_PAGES 4096u

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static uint64_t xorshift64(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* Each page holds its own xorshift64 stream, seeded from (seed, page number),
 * so any page can be checked on its own. */
static uint64_t page_state(uint64_t seed, size_t page)
{
    uint64_t s = splitmix64(seed ^ splitmix64((uint64_t)page));
    return s ? s : 1;
}

static void fill_page(uint64_t *words, uint64_t seed, size_t page)
{
    uint64_t s = page_state(seed, page);
    for (size_t i = 0; i < PAGE_WORDS; i++)
        words[i] = xorshift64(&s);
}

static int page_ok(const uint64_t *words, uint64_t seed, size_t page)
{
    uint64_t s = page_state(seed, page);
    for (size_t i = 0; i < PAGE_WORDS; i++)
        if (words[i] != xorshift64(&s))
            return 0;
    return 1;
}

static void on_term(int sig)
{
    (void)sig;
    _exit(0);
}

static int parse_uint(const char *text, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno || end == text || *end != '\0' || text[0] == '-' || v > max)
        return -1;
    *out = v;
    return 0;
}

static void sleep_ms(unsigned long ms)
{
    struct timespec req = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    struct timespec rem;
    /* Relative sleeps only: the monotonic clock of another host (after a
     * restore there) has nothing to do with this one's. */
    while (nanosleep(&req, &rem) == -1 && errno == EINTR)
        req = rem;
}

int main(int argc, char **argv)
{
    unsigned long mib = 16, period_ms = 200;

    if (argc > 3 || (argc > 1 && parse_uint(argv[1], 1UL << 20, &mib) != 0) ||
        (argc > 2 && parse_uint(argv[2], 3600UL * 1000, &period_ms) != 0) || mib == 0 ||
        period_ms == 0) {
        fprintf(stderr, "usage: %s [MIB (1..1048576, default 16)] [PERIOD_MS (default 200)]\n", argv[0]);
        return 2;
    }

    setvbuf(stdout, NULL, _IOLBF, 0);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t seed = splitmix64(((uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec) ^
                               ((uint64_t)getpid() << 32));

    size_t pages = (size_t)mib * (1024u * 1024u / PAGE_BYTES);
    uint64_t *mem = malloc(pages * PAGE_BYTES);
    if (mem == NULL) {
        fprintf(stderr, "counter: cannot allocate %lu MiB\n", mib);
        return 1;
    }
    for (size_t p = 0; p < pages; p++)
        fill_page(mem + p * PAGE_WORDS, seed, p);

    printf("start seed=%016" PRIx64 " mib=%lu\n", seed, mib);
    fflush(stdout);

    int full = mib <= FULL_CHECK_MAX_MIB;
    size_t stride = full ? 1 : pages / SAMPLE_PAGES;

    for (uint64_t tick = 1;; tick++) {
        sleep_ms(period_ms);

        size_t bad_page = 0;
        int ok = 1;
        if (full) {
            for (size_t p = 0; p < pages && ok; p++)
                if (!page_ok(mem + p * PAGE_WORDS, seed, p)) {
                    ok = 0;
                    bad_page = p;
                }
        } else {
            size_t offset = (size_t)(tick % stride);
            for (size_t k = 0; k < SAMPLE_PAGES && ok; k++) {
                size_t p = k * stride + offset;
                if (!page_ok(mem + p * PAGE_WORDS, seed, p)) {
                    ok = 0;
                    bad_page = p;
                }
            }
        }

        printf("tick %" PRIu64 " seed=%016" PRIx64 " mem=%s\n", tick, seed, ok ? "ok" : "BAD");
        fflush(stdout);
        if (!ok)
            fprintf(stderr, "counter: page %zu does not hold its pattern\n", bad_page);
    }
}
