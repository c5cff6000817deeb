/* udprecv PORT: print every datagram as "UDP-RECV from=IP:PORT data=..." and
 * echo it back as "UDP-ECHO ..." */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
    if (argc != 2) return 2;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(argv[1]));
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0) { perror("udprecv"); return 1; }
    printf("UDP-LISTENING %s\n", argv[1]);
    fflush(stdout);
    for (;;) {
        char buf[512], out[640];
        struct sockaddr_in p;
        socklen_t l = sizeof p;
        ssize_t n = recvfrom(s, buf, sizeof buf - 1, 0, (struct sockaddr *)&p, &l);
        if (n < 0) continue;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) n--;
        buf[n] = 0;
        printf("UDP-RECV from=%s:%d data=%s\n", inet_ntoa(p.sin_addr), ntohs(p.sin_port), buf);
        fflush(stdout);
        int m = snprintf(out, sizeof out, "UDP-ECHO %s\n", buf);
        sendto(s, out, (size_t)m, 0, (struct sockaddr *)&p, l);
    }
}
