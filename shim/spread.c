/*  spread.c -- glx --spread: which programs go elsewhere, and where.  See
    spread.h.  Called from the shim's exec wrappers, possibly in a vfork
    child or a signal handler: no malloc, no stdio, only the stack. */
#include "spread.h"
#include "err.h"
#include "str.h"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <ifaddrs.h>
#include <string.h>
#include <sys/statfs.h>

#define PICK_NODES_MAX 64 /* members of the view a step considers, this node first: on the stack */

int spread_pattern_check (const char *pattern, const char **why)
{
    size_t len = pattern ? strlen (pattern) : 0;
    if (!len)
        return gl_why (why, "the pattern is empty");
    if (len >= SPREAD_PATTERN_MAX)
        return gl_why (why, "the pattern is longer than 1023 bytes");
    if (strchr (pattern, '/'))
        return gl_why (why, "a pattern names programs, not paths: no '/'");
    for (const char *p = pattern;; p++) {
        size_t k = strcspn (p, "|");
        if (!k)
            return gl_why (why, "an alternative is empty ('||', or '|' at an end)");
        for (size_t i = 0; i < k; i++)
            if ((unsigned char) p[i] < 0x20 || p[i] == 0x7f)
                return gl_why (why, "the pattern holds a control character");
        p += k;
        if (!*p)
            return 0;
    }
}

bool spread_match (const char *pattern, const char *path)
{
    const char *base = strrchr (path, '/');
    base = base ? base + 1 : path;
    if (!*base)
        return false;
    char alt[SPREAD_PATTERN_MAX];
    for (const char *p = pattern; *p;) {
        size_t k = strcspn (p, "|");
        if (k && k < sizeof alt) {
            memcpy (alt, p, k);
            alt[k] = '\0';
            if (fnmatch (alt, base, 0) == 0)
                return true;
        }
        p += k;
        p += *p == '|';
    }
    return false;
}

/* File systems whose files every client sees alike (statfs(2) magics). */
static const struct {
    long magic;
    const char *name;
} shared_fs[] = {
    { 0x6969, "nfs" },          { 0xff534d42, "cifs" },   { 0xfe534d42, "smb2" },
    { 0x517b, "smb" },          { 0x00c36400, "ceph" },   { 0x01021997, "9p" },
    { 0x65735546, "fuse" },     { 0x5346414f, "afs" },    { 0x0bd00bd0, "lustre" },
    { 0x47504653, "gpfs" },     { 0x7461636f, "ocfs2" },  { 0x01161970, "gfs2" },
    { 0x20030528, "orangefs" }, { 0x19830326, "beegfs" }, { 0x013111a8, "ibrix" },
    { 0x6b414653, "kafs" },     { 0x73757245, "coda" },
};

int spread_fs_shared (const char *path, const char **fs)
{
    struct statfs st;
    if (statfs (path, &st))
        return -1;
    for (size_t i = 0; i < sizeof shared_fs / sizeof shared_fs[0]; i++)
        if ((long) st.f_type == shared_fs[i].magic) {
            if (fs)
                *fs = shared_fs[i].name;
            return 1;
        }
    if (fs)
        *fs = (long) st.f_type == 0x01021994   ? "tmpfs"
              : (long) st.f_type == 0xef53     ? "ext4"
              : (long) st.f_type == 0x9123683e ? "btrfs"
              : (long) st.f_type == 0x58465342 ? "xfs"
              : (long) st.f_type == 0x794c7630 ? "overlay"
                                               : "a local file system";
    return 0;
}

size_t spread_local_addrs (spread_addr_t *out, size_t max)
{
    struct ifaddrs *ifs;
    if (getifaddrs (&ifs))
        return 0;
    size_t n = 0;
    for (struct ifaddrs *i = ifs; i && n < max; i = i->ifa_next) {
        if (!i->ifa_addr)
            continue;
        if (i->ifa_addr->sa_family == AF_INET) {
            out[n].family = AF_INET;
            memcpy (out[n++].bytes, &((struct sockaddr_in *) i->ifa_addr)->sin_addr, 4);
        }
        else if (i->ifa_addr->sa_family == AF_INET6) {
            out[n].family = AF_INET6;
            memcpy (out[n++].bytes, &((struct sockaddr_in6 *) i->ifa_addr)->sin6_addr, 16);
        }
    }
    freeifaddrs (ifs);
    return n;
}

bool spread_addr_local (const char *addr, const spread_addr_t *locals, size_t n)
{
    /* tcp://HOST:PORT, HOST an address or [v6]; a name is not resolved
       here (no DNS in an exec wrapper): it counts as elsewhere */
    const char *h = strstr (addr, "://");
    h = h ? h + 3 : addr;
    char host[64];
    size_t k;
    if (*h == '[') {
        h++;
        k = strcspn (h, "]");
    }
    else
        k = strcspn (h, ":");
    if (!k || k >= sizeof host)
        return false;
    memcpy (host, h, k);
    host[k] = '\0';
    uint8_t b[16];
    int family;
    if (inet_pton (AF_INET, host, b) == 1) {
        family = AF_INET;
        if (b[0] == 127)
            return true;
    }
    else if (inet_pton (AF_INET6, host, b) == 1) {
        family = AF_INET6;
        static const uint8_t loop6[16] = { [15] = 1 };
        if (!memcmp (b, loop6, 16))
            return true;
    }
    else
        return false;
    for (size_t i = 0; i < n; i++)
        if (locals[i].family == family && !memcmp (locals[i].bytes, b, family == AF_INET ? 4 : 16))
            return true;
    return false;
}

int spread_pick (const gl_view_t *view, bool anywhere, const spread_addr_t *locals, size_t n_locals,
                 uint64_t draw, char node[64], spread_why_t *why)
{
    gl_view_info_t info;
    gl_view_node_t nodes[PICK_NODES_MAX];
    const char *reason = NULL;
    node[0] = '\0';
    if (why)
        *why = (spread_why_t){ 0 };
    if (gl_view_read (view, &info, nodes, PICK_NODES_MAX, NULL, 0, &reason))
        return -1;
    size_t n = info.n_nodes < PICK_NODES_MAX ? info.n_nodes : PICK_NODES_MAX;
    uint64_t weight[PICK_NODES_MAX], total = 0;
    for (size_t i = 0; i < n; i++) {
        const gl_view_node_t *m = &nodes[i];
        uint64_t free = m->cores > m->guests ? m->cores - m->guests : 0;
        weight[i] = 0;
        if (m->is_self) { /* here is always possible */
            weight[i] = free ? free : 1;
            if (why) {
                why->candidates++;
                why->allowed++;
            }
        }
        else if (m->state == 0 && m->has_res && m->res_state == 0 && free) {
            if (why)
                why->candidates++;
            if (!anywhere && !spread_addr_local (m->addr, locals, n_locals))
                continue;
            if (why)
                why->allowed++;
            weight[i] = free;
        }
        total += weight[i];
    }
    if (!total)
        return 0;
    uint64_t x = draw % total;
    for (size_t i = 0; i < n; i++) {
        if (x < weight[i]) {
            if (!nodes[i].is_self)
                gl_strlcpy (node, nodes[i].name, 64);
            return 0;
        }
        x -= weight[i];
    }
    return 0;
}
