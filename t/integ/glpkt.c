/*  glpkt -- capture and resend raw glunix packets, for tests of replay and
    tampering with real peers.

        glpkt capture ENDPOINT FILE [SECONDS]   bind, wait for one packet, save it
        glpkt send ENDPOINT FILE [--flip OFFSET] send a saved packet, maybe altered

    A test makes a real peer send to `capture` (by listing its endpoint as a
    seed), then replays what it caught to another peer.  It speaks the
    agent's transport (cmd/links.h): `capture` binds a ROUTER, as an agent
    does, and takes the packet after the routing id; `send` connects a
    DEALER (an agent's links come from its ROUTER; to the ROUTER it
    reaches, both are the same). */
#include <czmq.h>

static int capture (const char *endpoint, const char *file, int seconds)
{
    zsock_t *in = zsock_new (ZMQ_ROUTER);
    if (!in || zsock_bind (in, "%s", endpoint) < 0) {
        fprintf (stderr, "glpkt: cannot bind %s\n", endpoint);
        return 1;
    }
    zsock_set_rcvtimeo (in, seconds * 1000);
    zmsg_t *msg = zmsg_recv (in);
    if (!msg) {
        fprintf (stderr, "glpkt: nothing arrived at %s in %d s\n", endpoint, seconds);
        return 1;
    }
    /* the routing id of the sender's connection, then the packet */
    zframe_t *id = zmsg_pop (msg);
    zframe_t *frame = zmsg_pop (msg);
    if (!id || !frame || zmsg_size (msg)) {
        fprintf (stderr, "glpkt: what arrived is not an agent's packet\n");
        return 1;
    }
    zframe_destroy (&id);
    zmsg_destroy (&msg);
    FILE *fp = fopen (file, "wb");
    if (!fp || fwrite (zframe_data (frame), 1, zframe_size (frame), fp) != zframe_size (frame)) {
        fprintf (stderr, "glpkt: cannot write %s\n", file);
        return 1;
    }
    fclose (fp);
    printf ("captured %zu bytes\n", zframe_size (frame));
    zframe_destroy (&frame);
    zsock_destroy (&in);
    return 0;
}

static int send_file (const char *endpoint, const char *file, long flip)
{
    FILE *fp = fopen (file, "rb");
    if (!fp) {
        fprintf (stderr, "glpkt: cannot read %s\n", file);
        return 1;
    }
    uint8_t buf[1 << 16];
    size_t n = fread (buf, 1, sizeof buf, fp);
    fclose (fp);
    if (flip >= 0) {
        if ((size_t) flip >= n) {
            fprintf (stderr, "glpkt: offset %ld past the packet's %zu bytes\n", flip, n);
            return 1;
        }
        buf[flip] ^= 0x01;
    }
    zsock_t *out = zsock_new (ZMQ_DEALER);
    zsock_set_linger (out, 2000);
    if (!out || zsock_connect (out, "%s", endpoint)) {
        fprintf (stderr, "glpkt: cannot connect %s\n", endpoint);
        return 1;
    }
    zframe_t *frame = zframe_new (buf, n);
    if (zframe_send (&frame, out, 0)) {
        fprintf (stderr, "glpkt: send failed\n");
        return 1;
    }
    zsock_destroy (&out);
    return 0;
}

int main (int argc, char **argv)
{
    if (argc >= 4 && !strcmp (argv[1], "capture"))
        return capture (argv[2], argv[3], argc > 4 ? atoi (argv[4]) : 10);
    if (argc >= 4 && !strcmp (argv[1], "send"))
        return send_file (argv[2], argv[3],
                          argc > 5 && !strcmp (argv[4], "--flip") ? atol (argv[5]) : -1);
    fprintf (stderr,
             "usage: glpkt capture ENDPOINT FILE [SECONDS] | send ENDPOINT FILE [--flip OFFSET]\n");
    return 2;
}
