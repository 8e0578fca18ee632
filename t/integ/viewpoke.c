/*  viewpoke -- reads, or scribbles on, an agent's shared-memory view
    (core/view.h), for t/integ/view.sh.

        viewpoke read DIR       one line: node, publishes, alive, idle,
                                members, jobs, then "name:state" per member
        viewpoke scribble DIR   write into the read-only mapping (a job
                                that does so must die of SIGSEGV, alone)
        viewpoke name DIR       the view's shared-memory name (under /dev/shm) */
#include "view.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

int main (int argc, char **argv)
{
    if (argc != 3 ||
        (strcmp (argv[1], "read") && strcmp (argv[1], "scribble") && strcmp (argv[1], "name"))) {
        fprintf (stderr, "usage: viewpoke read|scribble|name RUNTIME_DIR\n");
        return 2;
    }
    if (!strcmp (argv[1], "name")) {
        char name[GL_VIEW_NAME_MAX];
        gl_view_name (argv[2], name);
        printf ("%s\n", name);
        return 0;
    }
    char err[512];
    gl_view_t *v = gl_view_open (argv[2], err, sizeof err);
    if (!v) {
        fprintf (stderr, "viewpoke: %s\n", err);
        return 1;
    }
    if (!strcmp (argv[1], "scribble")) {
        signal (SIGSEGV, SIG_DFL); /* the fault itself, not a sanitizer's report */
        ((volatile gl_view_hdr_t *) gl_view_hdr (v))->info.alive = 0;
        printf ("scribbled\n");
        return 0;
    }
    static gl_view_node_t nodes[GL_VIEW_NODES_MAX];
    gl_view_info_t info;
    const char *why;
    if (gl_view_read (v, &info, nodes, GL_VIEW_NODES_MAX, NULL, 0, &why)) {
        fprintf (stderr, "viewpoke: %s\n", why);
        return 1;
    }
    printf ("node=%s publishes=%llu alive=%u idle=%u members=%u jobs=%u closed=%d", info.node,
            (unsigned long long) info.publishes, info.alive, info.idle, info.n_nodes, info.n_jobs,
            !!(info.flags & GL_VIEW_CLOSED));
    for (uint32_t i = 0; i < info.n_nodes && i < GL_VIEW_NODES_MAX; i++)
        printf (" %s:%u:%s", nodes[i].name, nodes[i].state, nodes[i].has_res ? "res" : "-");
    printf ("\n");
    gl_view_close (&v);
    return 0;
}
