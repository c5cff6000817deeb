/* no_close_range.c: run a command where close_range(2) fails with ENOSYS (as
 * on kernels before 5.11, or under a seccomp filter the caller installed) and
 * descriptor FD (say 2000, above the old fallback's limit of 1023) is an
 * inherited, not close-on-exec, pipe end.
 *
 * Usage: no_close_range FD CMD [ARG...]      (as root)
 *
 * Prints PIPE_INODE=<inode of the pipe> on stdout, so the test can look for
 * that pipe in /proc/PID/fd of whatever the helper started. Run as root, the
 * filter needs no no_new_privs, so a setuid program below still gains its
 * privileges (as under a caller that is itself privileged enough, or an old
 * kernel). */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_close_range
#define __NR_close_range 436
#endif

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: no_close_range FD CMD [ARG...]\n");
    return 2;
  }
  int fd = atoi(argv[1]);
  int p[2];
  if (pipe(p) != 0 || dup2(p[1], fd) < 0) {
    perror("pipe");
    return 2;
  }
  close(p[1]);
  struct stat st;
  fstat(fd, &st);
  printf("PIPE_INODE=%lu\n", (unsigned long)st.st_ino);
  fflush(stdout);
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_close_range, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    perror("seccomp");
    return 2;
  }
  execvp(argv[2], argv + 2);
  perror("exec");
  return 2;
}
