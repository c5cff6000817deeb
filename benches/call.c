/* benches/call.c: the timing loop of benches/attach.sh.
 *
 * Times a bridge-helper call exactly as QEMU makes it (net/tap.c,
 * net_bridge_run_helper): socketpair(AF_UNIX, SOCK_STREAM), fork, in the child
 * drop to the unprivileged caller (setgroups(0), setresgid, setresuid) and
 * execv(helper, [helper, "--use-vnet", "--fd=N", "--br=BR"]) so that the
 * helper runs through its setuid bit; in the parent recvmsg() with a 1-byte
 * buffer and room for one SCM_RIGHTS fd, then wait4(). The clock
 * (CLOCK_MONOTONIC) runs from just before fork() to just after wait4(); the
 * received tap fd is closed after the clock stops (closing it destroys the tap,
 * which is not part of the call).
 *
 * Several targets are timed in the same run, interleaved: round r calls every
 * target once, in a fresh random order each round (a fixed seed, so runs are
 * comparable), so drift and noise on this shared machine hit all of them
 * alike, and so does whatever one target leaves behind for the next (cache
 * and TLB state, deferred kernel work). A fixed order (ABC CBA ...) does not
 * cancel that: the same binary timed in two slots came out 10% apart, the
 * slower one always next to qemu-bridge-helper. A warm-up of W rounds is run first and discarded. Any failed call
 * (exit status != 0, or no fd when one is expected) aborts the benchmark: timing
 * failures would be meaningless.
 *
 * With -k (keep), the fds received in timed rounds stay open until the program
 * exits, so taps accumulate on their bridges as they do under many QEMUs
 * (benches/scale.sh); warm-up calls' fds are still closed. The fd limit is
 * raised to the hard limit for that. After its report, it waits for the end
 * of its standard input before it exits (and so lets the taps go).
 *
 * Usage: call [-n N] [-w W] [-k] [-u UID] [-g GID] [-o RAWFILE] TARGET...
 *   TARGET = name=NAME,path=PATH[,br=BRIDGE][,nofd][,pre=SHELL COMMAND]
 *     br=    bridge for --br= (default br0)
 *     nofd   the program sends no fd (e.g. a setuid /bin/true baseline)
 *     pre=   a shell command run as root before each call, outside the clock
 *            (e.g. to tear a managed network down for "cold" calls); must come
 *            last, it takes the rest of the argument
 * Output (stdout), times in microseconds:
 *   STAT <name> n=<N> p10=<us> p50=<us> p90=<us> mean=<us> min=<us>
 *   PAIRED <name0>/<name1> p50=<median of per-round ratios>  (first two targets)
 * RAWFILE gets one line per timed call: round, target name, microseconds, and
 * the CPU time (user + system, from wait4's rusage) the helper process used,
 * in microseconds: unlike the wall time, other load on the machine barely
 * changes it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct target {
    const char *name, *path, *bridge, *pre;
    int nofd;
    double *us;
};

static void die(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "call: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    exit(2);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void parse_target(struct target *t, char *spec)
{
    memset(t, 0, sizeof *t);
    t->bridge = "br0";
    char *p = spec;
    while (p && *p) {
        if (strncmp(p, "pre=", 4) == 0) { t->pre = p + 4; break; }
        char *comma = strchr(p, ',');
        if (comma) *comma = 0;
        if (strncmp(p, "name=", 5) == 0) t->name = p + 5;
        else if (strncmp(p, "path=", 5) == 0) t->path = p + 5;
        else if (strncmp(p, "br=", 3) == 0) t->bridge = p + 3;
        else if (strcmp(p, "nofd") == 0) t->nofd = 1;
        else die("bad target field `%s'%s", p, "");
        p = comma ? comma + 1 : NULL;
    }
    if (!t->name || !t->path) die("target needs name= and path=%s%s", "", "");
}

/* One call as QEMU makes it; returns its duration in microseconds, and the
 * helper's CPU time in *cpu. The received fd is closed, unless keep is set. */
static double one_call(const struct target *t, uid_t uid, gid_t gid, int keep, double *cpu)
{
    if (t->pre) {
        int rc = system(t->pre);
        if (rc != 0) die("pre command of %s failed: %s", t->name, t->pre);
    }
    char fdarg[32], brarg[64];
    int sv[2];
    double t0 = now_us();
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) die("socketpair: %s%s", strerror(errno), "");
    snprintf(fdarg, sizeof fdarg, "--fd=%d", sv[1]);
    snprintf(brarg, sizeof brarg, "--br=%s", t->bridge);
    pid_t pid = fork();
    if (pid < 0) die("fork: %s%s", strerror(errno), "");
    if (pid == 0) {
        /* the caller: unprivileged, no supplementary groups, its socket end inherited */
        if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) _exit(126);
        if (fcntl(sv[1], F_SETFD, 0) < 0) _exit(126);
        char *argv[] = {(char *)t->path, "--use-vnet", fdarg, brarg, NULL};
        execv(t->path, argv);
        _exit(127);
    }
    close(sv[1]);
    char byte;
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } cm;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof cm.buf};
    ssize_t n;
    do n = recvmsg(sv[0], &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
    int fd = -1;
    struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(c), sizeof fd);
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {}
    double t1 = now_us();
    *cpu = ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
    close(sv[0]);
    if (fd >= 0 && !keep) close(fd);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char st[32];
        snprintf(st, sizeof st, "status 0x%x", status);
        die("%s failed (%s): see its stderr above", t->name, st);
    }
    if (!t->nofd && fd < 0) die("%s exited 0 but sent no fd%s", t->name, "");
    return t1 - t0;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* nearest-rank percentile of a sorted array */
static double pct(const double *s, int n, int p)
{
    int i = (p * n + 99) / 100 - 1;
    if (i < 0) i = 0;
    if (i >= n) i = n - 1;
    return s[i];
}

int main(int argc, char **argv)
{
    int n = 400, warm = -1, keep = 0, opt;
    uid_t uid = 4242;
    gid_t gid = 4242;
    const char *raw = NULL;
    while ((opt = getopt(argc, argv, "n:w:ku:g:o:")) != -1) {
        switch (opt) {
        case 'n': n = atoi(optarg); break;
        case 'w': warm = atoi(optarg); break;
        case 'k': keep = 1; break;
        case 'u': uid = (uid_t)atoi(optarg); break;
        case 'g': gid = (gid_t)atoi(optarg); break;
        case 'o': raw = optarg; break;
        default: die("usage: call [-n N] [-w W] [-k] [-u UID] [-g GID] [-o RAW] TARGET...%s%s", "", "");
        }
    }
    int nt = argc - optind;
    if (nt < 1 || n < 1) die("usage: call [-n N] [-w W] [-k] [-u UID] [-g GID] [-o RAW] TARGET...%s%s", "", "");
    if (warm < 0) warm = n / 20 < 10 ? 10 : n / 20;
    struct target *ts = calloc(nt, sizeof *ts);
    for (int k = 0; k < nt; k++) {
        parse_target(&ts[k], argv[optind + k]);
        ts[k].us = calloc(n, sizeof(double));
    }
    if (keep) {
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    FILE *rf = raw ? fopen(raw, "w") : NULL;
    int *order = calloc(nt, sizeof(int));
    unsigned long long seed = 0x9e3779b97f4a7c15ULL;
    for (int r = 0; r < warm + n; r++) {
        for (int j = 0; j < nt; j++) order[j] = j;
        for (int j = nt - 1; j > 0; j--) { /* Fisher-Yates, xorshift64 */
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
            int i = (int)(seed % (unsigned long long)(j + 1));
            int t = order[i]; order[i] = order[j]; order[j] = t;
        }
        for (int j = 0; j < nt; j++) {
            int k = order[j];
            double cpu;
            double us = one_call(&ts[k], uid, gid, keep && r >= warm, &cpu);
            if (r >= warm) {
                ts[k].us[r - warm] = us;
                if (rf) fprintf(rf, "%d\t%s\t%.1f\t%.0f\n", r - warm, ts[k].name, us, cpu);
            }
        }
    }
    if (rf) fclose(rf);
    if (nt >= 2) {
        double *ratio = calloc(n, sizeof(double));
        for (int i = 0; i < n; i++) ratio[i] = ts[0].us[i] / ts[1].us[i];
        qsort(ratio, n, sizeof(double), cmp);
        printf("PAIRED %s/%s p50=%.3f p10=%.3f p90=%.3f\n", ts[0].name, ts[1].name, pct(ratio, n, 50),
               pct(ratio, n, 10), pct(ratio, n, 90));
    }
    for (int k = 0; k < nt; k++) {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += ts[k].us[i];
        qsort(ts[k].us, n, sizeof(double), cmp);
        printf("STAT %s n=%d p10=%.1f p50=%.1f p90=%.1f mean=%.1f min=%.1f\n", ts[k].name, n,
               pct(ts[k].us, n, 10), pct(ts[k].us, n, 50), pct(ts[k].us, n, 90), sum / n, ts[k].us[0]);
    }
    fflush(stdout);
    if (keep) {
        char buf[256];
        while (read(0, buf, sizeof buf) > 0) {}
    }
    return 0;
}
