/* link/trace.c: records which code of the helper one call runs, for
 * link/order.sh (not part of vnet-helper).
 *
 * Makes the call as QEMU does (socketpair, fork, drop to uid/gid 4242 without
 * groups, exec the setuid helper with --use-vnet --fd=N --br=BRIDGE), but
 * with the child traced: every instruction is single-stepped, and the offset
 * from the helper's load address of each instruction executed inside the
 * helper's own image is written once, in the order first executed, as 16 hex
 * digits, one a line. Run as root (a root tracer keeps the setuid exec privileged).
 *
 * Usage: trace HELPER BRIDGE OUTFILE
 */
#define _GNU_SOURCE
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* lowest and highest address of the mappings of `path` in process `pid` */
static void image_range(pid_t pid, const char *path, unsigned long *lo, unsigned long *hi)
{
    char maps[64], line[4096];
    snprintf(maps, sizeof maps, "/proc/%d/maps", pid);
    FILE *m = fopen(maps, "r");
    if (!m) die("maps");
    *lo = ~0UL;
    *hi = 0;
    while (fgets(line, sizeof line, m)) {
        unsigned long a, b;
        char file[4096] = "";
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %4095s", &a, &b, file) == 3 && strcmp(file, path) == 0) {
            if (a < *lo) *lo = a;
            if (b > *hi) *hi = b;
        }
    }
    fclose(m);
    if (*hi == 0) {
        fprintf(stderr, "trace: %s not mapped\n", path);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: trace HELPER BRIDGE OUTFILE\n");
        return 2;
    }
    const char *path = argv[1];
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) die("socketpair");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        char fdarg[32], brarg[64];
        int fd = dup(sv[1]); /* without close-on-exec */
        snprintf(fdarg, sizeof fdarg, "--fd=%d", fd);
        snprintf(brarg, sizeof brarg, "--br=%s", argv[2]);
        if (ptrace(PTRACE_TRACEME, 0, 0, 0)) _exit(125);
        if (setgroups(0, NULL) || setresgid(4242, 4242, 4242) || setresuid(4242, 4242, 4242)) _exit(126);
        char *av[] = {(char *)path, "--use-vnet", fdarg, brarg, NULL};
        execv(path, av);
        _exit(127);
    }
    close(sv[1]);
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFSTOPPED(st)) die("exec");
    unsigned long lo, hi;
    image_range(pid, path, &lo, &hi);
    unsigned char *seen = calloc(hi - lo, 1);
    FILE *out = fopen(argv[3], "w");
    if (!seen || !out) die("output");
    long steps = 0;
    for (;;) {
        struct user_regs_struct r;
        if (ptrace(PTRACE_GETREGS, pid, 0, &r) == 0 && r.rip >= lo && r.rip < hi && !seen[r.rip - lo]) {
            seen[r.rip - lo] = 1;
            fprintf(out, "%016lx\n", (unsigned long)(r.rip - lo));
        }
        steps++;
        if (ptrace(PTRACE_SINGLESTEP, pid, 0, 0)) break;
        if (waitpid(pid, &st, 0) < 0 || WIFEXITED(st) || WIFSIGNALED(st)) break;
    }
    if (fclose(out)) die("output");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "trace: the call failed (status 0x%x)\n", st);
        return 1;
    }
    fprintf(stderr, "trace: %s --br=%s: %ld instructions stepped\n", path, argv[2], steps);
    return 0;
}
