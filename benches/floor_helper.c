/* benches/floor_helper.c: the floor for benches/attach.sh, NOT a real helper.
 *
 * The least a bridge helper can do: a static C program that creates the tap
 * and attaches it exactly like qemu-bridge-helper (TUNSETIFF tap%d with
 * IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, bridge MTU copied, MAC byte 0 = 0xFE,
 * SIOCBRADDIF, IFF_UP) and sends the fd (1 byte + SCM_RIGHTS), with no ACL,
 * no privilege drop, no logging and no checks worth the name. Installed setuid
 * root inside the benchmark sandbox only, it shows how close to the kernel's own
 * cost a helper call can get. Usage: floor_helper --use-vnet --fd=N --br=BRIDGE
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int fd = -1, vnet = 0;
    const char *br = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--use-vnet") == 0) vnet = 1;
        else if (strncmp(argv[i], "--fd=", 5) == 0) fd = atoi(argv[i] + 5);
        else if (strncmp(argv[i], "--br=", 5) == 0) br = argv[i] + 5;
    }
    if (fd < 0 || !br || strlen(br) >= IFNAMSIZ) return 1;

    int tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (tap < 0) return 1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    unsigned int features = 0;
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (vnet && ioctl(tap, TUNGETFEATURES, &features) == 0 && (features & IFF_VNET_HDR))
        ifr.ifr_flags |= IFF_VNET_HDR;
    strcpy(ifr.ifr_name, "tap%d");
    if (ioctl(tap, TUNSETIFF, &ifr) < 0) return 1;
    char name[IFNAMSIZ];
    memcpy(name, ifr.ifr_name, IFNAMSIZ);

    int ctl = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ctl < 0) return 1;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, br, IFNAMSIZ - 1);
    if (ioctl(ctl, SIOCGIFMTU, &ifr) < 0) return 1;
    int mtu = ifr.ifr_mtu;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, name, IFNAMSIZ);
    ifr.ifr_mtu = mtu;
    if (ioctl(ctl, SIOCSIFMTU, &ifr) < 0) return 1;
    if (ioctl(ctl, SIOCGIFHWADDR, &ifr) < 0) return 1;
    ifr.ifr_hwaddr.sa_data[0] = (char)0xFE;
    if (ioctl(ctl, SIOCSIFHWADDR, &ifr) < 0) return 1;
    int idx = (int)if_nametoindex(name);
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, br, IFNAMSIZ - 1);
    ifr.ifr_ifindex = idx;
    if (ioctl(ctl, SIOCBRADDIF, &ifr) < 0) return 1;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, name, IFNAMSIZ);
    if (ioctl(ctl, SIOCGIFFLAGS, &ifr) < 0) return 1;
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(ctl, SIOCSIFFLAGS, &ifr) < 0) return 1;

    char byte = 0;
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } cm;
    memset(&cm, 0, sizeof cm);
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof cm.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &tap, sizeof tap);
    if (sendmsg(fd, &msg, 0) != 1) return 1;
    return 0;
}
