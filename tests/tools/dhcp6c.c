/* dhcp6c IFNAME MAC: a minimal DHCPv6 client (busybox here has no udhcpc6):
 * Solicit -> Advertise -> Request -> Reply for one IA_NA; prints the address
 * and exits 0, or exits 1 after ~30 s. */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
static int put_opt(unsigned char *p, int code, const void *data, int len) {
    p[0] = code >> 8; p[1] = code; p[2] = len >> 8; p[3] = len;
    memcpy(p + 4, data, len);
    return 4 + len;
}
static const unsigned char *find_opt(const unsigned char *p, int len, int code, int *olen) {
    while (len >= 4) {
        int c = (p[0] << 8) | p[1], l = (p[2] << 8) | p[3];
        if (l + 4 > len) return NULL;
        if (c == code) { *olen = l; return p + 4; }
        p += 4 + l; len -= 4 + l;
    }
    return NULL;
}
int main(int argc, char **argv) {
    unsigned m6[6];
    unsigned char duid[10] = {0, 3, 0, 1};
    if (argc != 3 || sscanf(argv[2], "%x:%x:%x:%x:%x:%x", &m6[0], &m6[1], &m6[2], &m6[3], &m6[4], &m6[5]) != 6) return 2;
    for (int i = 0; i < 6; i++) duid[4 + i] = (unsigned char)m6[i];
    unsigned ifindex = if_nametoindex(argv[1]);
    int s = socket(AF_INET6, SOCK_DGRAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, argv[1], strlen(argv[1]) + 1);
    setsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof ifindex);
    struct sockaddr_in6 me, srv;
    memset(&me, 0, sizeof me); me.sin6_family = AF_INET6; me.sin6_port = htons(546);
    if (bind(s, (struct sockaddr *)&me, sizeof me) != 0) { perror("dhcp6c: bind"); return 1; }
    struct timeval tv = {1, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    memset(&srv, 0, sizeof srv); srv.sin6_family = AF_INET6; srv.sin6_port = htons(547);
    inet_pton(AF_INET6, "ff02::1:2", &srv.sin6_addr); srv.sin6_scope_id = ifindex;
    unsigned char ia0[12] = {0, 0, 0, 1}, server[128], ia[512];
    int serverlen = 0, ialen = 0, state = 0;
    for (int tries = 0; tries < 30; tries++) {
        unsigned char m[700], xid[3] = {(unsigned char)tries, 0x42, 0x17}, et[2] = {0, 0};
        int n = 4;
        m[0] = state == 0 ? 1 : 3; memcpy(m + 1, xid, 3);
        n += put_opt(m + n, 1, duid, 10);
        if (state == 1) { n += put_opt(m + n, 2, server, serverlen); n += put_opt(m + n, 3, ia, ialen); }
        else n += put_opt(m + n, 3, ia0, 12);
        n += put_opt(m + n, 8, et, 2);
        if (sendto(s, m, n, 0, (struct sockaddr *)&srv, sizeof srv) < 0) { perror("dhcp6c: sendto"); sleep(1); continue; }
        for (;;) {
            unsigned char r[1500];
            const unsigned char *o;
            int ol;
            ssize_t k = recv(s, r, sizeof r, 0);
            if (k < 0) break;
            if (k < 4 || memcmp(r + 1, xid, 3) != 0) continue;
            if (state == 0 && r[0] == 2) {
                o = find_opt(r + 4, k - 4, 2, &ol);
                if (!o || ol > (int)sizeof server) continue;
                memcpy(server, o, ol); serverlen = ol;
                o = find_opt(r + 4, k - 4, 3, &ol);
                if (!o || ol > (int)sizeof ia) continue;
                memcpy(ia, o, ol); ialen = ol; state = 1;
                break;
            }
            if (state == 1 && r[0] == 7) {
                int al;
                const unsigned char *a;
                o = find_opt(r + 4, k - 4, 3, &ol);
                if (!o || ol < 12) continue;
                a = find_opt(o + 12, ol - 12, 5, &al);
                if (!a || al < 24) { fprintf(stderr, "dhcp6c: reply without an address\n"); continue; }
                char buf[64];
                inet_ntop(AF_INET6, a, buf, sizeof buf);
                printf("%s\n", buf);
                return 0;
            }
        }
    }
    return 1;
}
