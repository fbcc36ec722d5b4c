/*
 * pingpong [PORT [PERIOD_MS]]
 *
 * Test workload for checkpoint/restore of an established TCP connection held
 * inside one container. The process listens on 127.0.0.1:PORT (the server),
 * then forks a client that connects to it once and never reconnects.
 *
 * The server prints, for each connection it accepts,
 *
 *     accept n=<accepted so far> peer=<client port>
 *
 * and answers each line it receives: "seq <n>" with "ack <n> accepts=<k>",
 * "ping" with "pong accepts=<k>" (k: connections accepted so far).
 *
 * The client picks a random connection id at start and prints
 *
 *     connect id=<id> port=<its local port>
 *
 * then every PERIOD_MS milliseconds sends "seq <n>" over the one connection,
 * waits for the answer and prints
 *
 *     tick <n> id=<id> port=<its local port> accepts=<k> ok
 *
 * with n = 1, 2, 3, ... After a restore the ticks carry on with the next n,
 * the same id and port, and accepts=1: the connection was carried, not made
 * again. If the connection breaks the client prints "broken <n> <reason>" and
 * exits with status 1; the server then prints "client exited" and exits 1, so
 * a broken connection stops the container instead of going unnoticed.
 *
 * SIGTERM and SIGINT end the program with exit status 0.
 *
 * Defaults: PORT 7000, PERIOD_MS 200. Build: gcc -static -O2 -o pingpong pingpong.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 16
#define LINE_MAX_BYTES 256

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t child_exited;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void on_child(int sig)
{
    (void)sig;
    child_exited = 1;
}

static void die(const char *what)
{
    printf("error %s: %s\n", what, strerror(errno));
    fflush(stdout);
    exit(2);
}

static int local_port(int fd)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);
    if (getsockname(fd, (struct sockaddr *)&addr, &len) != 0)
        return -1;
    return ntohs(addr.sin_port);
}

/* Reads one '\n'-terminated line; returns its length, 0 on EOF, -1 on error. */
static int read_line(int fd, char *buf, size_t size)
{
    size_t used = 0;
    while (used + 1 < size) {
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EINTR && !stop_requested)
                continue;
            return -1;
        }
        if (c == '\n')
            break;
        buf[used++] = c;
    }
    buf[used] = '\0';
    return (int)used + 1;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR && !stop_requested)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !stop_requested)
        ;
}

static int run_client(int port, long period_ms)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
        die("connect");

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t id = ((uint64_t)now.tv_nsec << 20) ^ (uint64_t)now.tv_sec ^ ((uint64_t)getpid() << 40);
    int me = local_port(fd);
    printf("connect id=%016" PRIx64 " port=%d\n", id, me);
    fflush(stdout);

    char line[LINE_MAX_BYTES];
    for (uint64_t n = 1; !stop_requested; n++) {
        int len = snprintf(line, sizeof(line), "seq %" PRIu64 "\n", n);
        if (write_all(fd, line, (size_t)len) != 0) {
            if (stop_requested)
                break;
            printf("broken %" PRIu64 " write: %s\n", n, strerror(errno));
            fflush(stdout);
            return 1;
        }
        int got = read_line(fd, line, sizeof(line));
        if (got <= 0) {
            if (stop_requested)
                break;
            printf("broken %" PRIu64 " read: %s\n", n, got == 0 ? "connection closed" : strerror(errno));
            fflush(stdout);
            return 1;
        }
        uint64_t acked = 0;
        int accepts = 0;
        if (sscanf(line, "ack %" SCNu64 " accepts=%d", &acked, &accepts) != 2 || acked != n) {
            printf("broken %" PRIu64 " answer: '%s'\n", n, line);
            fflush(stdout);
            return 1;
        }
        printf("tick %" PRIu64 " id=%016" PRIx64 " port=%d accepts=%d ok\n", n, id, me, accepts);
        fflush(stdout);
        sleep_ms(period_ms);
    }
    close(fd);
    return 0;
}

/* Answers one line from a client; returns -1 when that client is gone. */
static int serve_line(int fd, int accepts)
{
    char line[LINE_MAX_BYTES], reply[LINE_MAX_BYTES];
    int got = read_line(fd, line, sizeof(line));
    if (got <= 0)
        return -1;
    uint64_t n;
    int len;
    if (sscanf(line, "seq %" SCNu64, &n) == 1)
        len = snprintf(reply, sizeof(reply), "ack %" PRIu64 " accepts=%d\n", n, accepts);
    else if (strcmp(line, "ping") == 0)
        len = snprintf(reply, sizeof(reply), "pong accepts=%d\n", accepts);
    else
        len = snprintf(reply, sizeof(reply), "unknown\n");
    return write_all(fd, reply, (size_t)len);
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 7000;
    long period_ms = argc > 2 ? atol(argv[2]) : 200;
    if (port <= 0 || port > 65535 || period_ms <= 0) {
        fprintf(stderr, "usage: %s [PORT [PERIOD_MS]]\n", argv[0]);
        return 2;
    }

    struct sigaction sa = {0};
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_child;
    sigaction(SIGCHLD, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0)
        die("socket");
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&addr, sizeof(addr)) != 0)
        die("bind");
    if (listen(listener, 8) != 0)
        die("listen");
    printf("listen port=%d\n", port);
    fflush(stdout);

    pid_t client = fork();
    if (client < 0)
        die("fork");
    if (client == 0) {
        close(listener);
        return run_client(port, period_ms);
    }

    struct pollfd fds[1 + MAX_CLIENTS];
    int nfds = 1, accepts = 0;
    fds[0].fd = listener;
    fds[0].events = POLLIN;
    while (!stop_requested) {
        if (child_exited) {
            int status;
            if (waitpid(client, &status, WNOHANG) == client) {
                printf("client exited\n");
                fflush(stdout);
                return 1;
            }
            child_exited = 0;
        }
        int ready = poll(fds, (nfds_t)nfds, 1000);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        if (fds[0].revents & POLLIN) {
            struct sockaddr_in peer;
            socklen_t len = sizeof(peer);
            int fd = accept(listener, (struct sockaddr *)&peer, &len);
            if (fd >= 0) {
                accepts++;
                printf("accept n=%d peer=%d\n", accepts, ntohs(peer.sin_port));
                fflush(stdout);
                if (nfds < 1 + MAX_CLIENTS) {
                    fds[nfds].fd = fd;
                    fds[nfds].events = POLLIN;
                    nfds++;
                } else {
                    close(fd);
                }
            }
        }
        for (int i = 1; i < nfds; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (serve_line(fds[i].fd, accepts) != 0) {
                close(fds[i].fd);
                fds[i] = fds[nfds - 1];
                nfds--;
                i--;
            }
        }
    }
    kill(client, SIGTERM);
    waitpid(client, NULL, 0);
    return 0;
}
