/*  agent.c -- the glpeer agent loop.  See agent.h. */
#include "agent.h"
#include "ckpt_proto.h"
#include "err.h"
#include "fd.h"
#include "str.h"
#include "clock.h"
#include "clocks.h"
#include "cred.h"
#include "ctl.h"
#include "freeze.h"
#include "gang.h"
#include "ident.h"
#include "idle.h"
#include "access.h"
#include "jobs.h"
#include "links.h"
#include "launcher.h"
#include "log.h"
#include "loop.h"
#include "policy.h"
#include "seal.h"
#include "status.h"
#include "swim.h"
#include "swim_conf.h"
#include "view.h"
#include "viewpub.h"
#include "wire.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define AGENT_NICE     -10   /* ours, for slice switches on time; jobs get 0 */
#define LEAVE_FLUSH_MS 1000  /* how long a leaving agent lets its LEAVE drain */
#define RECV_QUEUE     10000 /* packets the transport holds for us to read */
#define PEERS_SAVE_MS  5000  /* at most this often, state_dir/peers is rewritten */
#define PEERS_MAX      32    /* addresses remembered there */
/* A link with a job message this recent is held (links.h): well over the
   home's ping period (JOBS_PING_MS) and the host's patience (JOBS_ORPHAN_MS). */
#define JOB_HOLD_MS    (2 * JOBS_ORPHAN_MS)
/* Membership news reaches the view at most this often.  A publication
   copies every member, and in a cluster of N a wave of suspicions and
   refutations is N events at each agent: published one by one, that is
   N^2 copies a wave, which a few hundred agents sharing cores could not
   afford (bench/README.md, issue 14).  Still well within
   GL_VIEW_REFRESH_MS, what the view's readers are promised. */
#define VIEW_NEWS_MS   100

typedef struct {
    const gl_conf_t *conf;
    gl_ident_t *ident;
    gl_seal_t *seal;
    swim_t *swim;
    idle_t *idle;
    ctl_server_t *ctl;
    jobs_t *jobs;
    gang_t *gang;     /* coscheduling: elections, the matrix */
    clocks_t *clocks; /* the other peers' clock offsets */
    freeze_t *freeze; /* how gang processes are stopped here */
    int slice_fd;     /* a timerfd at every slice boundary, while gangs run here; -1 */
    bool slice_armed;
    uint64_t switches, switch_stops, switch_conts, unconfirmed;
    policy_t *policy; /* sched/policy, or NULL */
    viewpub_t *view;  /* the shared-memory view, or NULL (viewpub.h) */
    bool view_dirty;  /* something it shows changed: publish at once */
    bool view_news;   /* membership news: publish within VIEW_NEWS_MS */
    uint64_t view_ms; /* when it was last published */
    links_t *links;   /* the transport: the socket we are reached on, our links (links.h) */
    gl_loop_t *loop;
    int lock_fd;
    int launcher; /* the root launcher's socket (launcher.h), or -1 */
    pid_t launcher_pid;

    bool leaving; /* asked to leave (signal, glpeer leave) */
    bool leave_started;
    uint64_t next_sample_ms;
    uint64_t started_wall_ms;
    gl_res_t res;          /* our last sample */
    gl_res_t published;    /* the estimate the cluster has from us */
    uint64_t published_ms; /* 0: none yet */
    uint64_t refresh_ms;   /* this round's refresh interval, jittered */
    char res_reason[128];

    uint64_t send_dropped; /* never handed to a link: encoding, sealing */
    bool peers_dirty;      /* someone joined: remember the peers again */
    uint64_t peers_saved_ms;

    /* The job message being handled and the plain bytes it came in: when
       jobs passes it on to a local client unchanged (stream output on its
       way to glx), those bytes go as they are, not encoded once more. */
    const gl_job_t *in_job;
    const uint8_t *in_body;
    size_t in_body_len;
} agent_t;

/* ---- signing, handed to the gossip state machine ---------------------------- */

static int agent_sign (void *ctx, gl_rec_t *rec)
{
    return gl_ident_sign ((gl_ident_t *) ctx, rec);
}

static int agent_verify (void *ctx, const gl_rec_t *rec, const uint8_t pubkey[GL_PUBKEY_BYTES])
{
    return gl_rec_verify (rec, pubkey);
}

/* ---- sending ------------------------------------------------------------------ */

static void send_msg (agent_t *a, const char *addr, const gl_msg_t *msg, uint64_t now)
{
    uint8_t *body = NULL, *pkt = NULL;
    size_t body_len, pkt_len;
    if (gl_msg_encode (msg, &body, &body_len)) {
        gl_error ("cannot encode %s for %s", gl_msg_type_name (msg->type), addr);
        return;
    }
    if (gl_seal_pack (a->seal, gl_wall_ms (), body, body_len, &pkt, &pkt_len) == 0) {
        /* the link takes the packet as it is (no copy) */
        links_send (a->links, addr, pkt, pkt_len, msg->type == GL_MSG_JOB, now);
        pkt = NULL;
    }
    else
        a->send_dropped++;
    free (pkt);
    free (body);
}

/* Drain what the state machine wants said: messages and events. */
static void pump (agent_t *a, uint64_t now)
{
    swim_out_t out;
    while (swim_pop (a->swim, &out)) {
        if (out.msg.type == GL_MSG_PING && out.to_name[0]) /* t1 of a clock sample */
            clocks_sent (a->clocks, out.to_name, out.msg.probe_seq, gl_wall_ms ());
        send_msg (a, out.to_addr, &out.msg, now);
        gl_msg_clear (&out.msg);
    }
    swim_event_t ev;
    while (swim_pop_event (a->swim, &ev)) {
        gl_log_level_t level = ev.kind == SWIM_EV_BAD_RECORD || ev.kind == SWIM_EV_REFUTED
                                   ? GL_LOG_WARNING
                                   : GL_LOG_INFO;
        gl_log (level, "%s: %s (generation %llu, incarnation %llu%s%s)", swim_event_name (ev.kind),
                ev.node, (unsigned long long) ev.generation, (unsigned long long) ev.incarnation,
                ev.from[0] ? ", from " : "", ev.from);
        if (ev.kind == SWIM_EV_DEAD || ev.kind == SWIM_EV_LEFT) {
            jobs_node_lost (a->jobs, ev.node, now);
            swim_member_t m;
            if (swim_lookup (a->swim, ev.node, &m) && m.addr[0])
                links_close (a->links, m.addr);
            gang_node (a->gang, ev.node, false);
            clocks_forget (a->clocks, ev.node);
        }
        /* A new generation of a node we knew: it restarted before gossip
           found it dead, and the jobs it hosted or was home to died with
           its old process.  (For a node we did not know it finds none.) */
        if (ev.kind == SWIM_EV_JOINED)
            jobs_node_lost (a->jobs, ev.node, now);
        if (ev.kind == SWIM_EV_JOINED || ev.kind == SWIM_EV_ALIVE)
            gang_node (a->gang, ev.node, true);
        if (ev.kind == SWIM_EV_JOINED || ev.kind == SWIM_EV_ALIVE)
            a->peers_dirty = true;
        a->view_news = true;
    }
    gang_out_t gout;
    while (gang_pop (a->gang, &gout)) {
        swim_member_t m;
        if (swim_lookup (a->swim, gout.to, &m) && m.addr[0])
            send_msg (a, m.addr, &gout.msg, now);
        else
            a->send_dropped++;
        gl_msg_clear (&gout.msg);
    }
    gang_event_t gev;
    while (gang_pop_event (a->gang, &gev)) {
        if (gev.kind == GANG_EV_PLACED)
            gl_info ("gang %s: placed in row %u (term %llu)", gev.gang, gev.row,
                     (unsigned long long) gev.term);
        else if (gev.kind == GANG_EV_ELECTED)
            gl_info ("gang %s: leader for term %llu", gev.gang, (unsigned long long) gev.term);
        else if (gev.kind == GANG_EV_COORDINATED)
            gl_info ("gang %s: coordinated (row %u, leader %s, term %llu)", gev.gang, gev.row,
                     gev.leader, (unsigned long long) gev.term);
        else
            gl_log (gev.kind == GANG_EV_REFUSED ? GL_LOG_WARNING : GL_LOG_INFO,
                    "gang %s: %s%s%s (term %llu%s%s)", gev.gang, gang_event_name (gev.kind),
                    gev.why[0] ? ": " : "", gev.why, (unsigned long long) gev.term,
                    gev.leader[0] ? " of " : "", gev.leader);
    }
}

/* ---- remembered peers ------------------------------------------------------------ */

/* A node that restarts while every seed is down would be alone until some
   member happened to reconnect to it.  So the agent keeps, in
   state_dir/peers, the addresses of up to PEERS_MAX members it last saw
   alive, and asks them as well as the seeds when it starts. */
static void peers_save (agent_t *a, uint64_t now)
{
    a->peers_dirty = false;
    a->peers_saved_ms = now;
    char path[GL_PATH_MAX + 16], tmp[GL_PATH_MAX + 32];
    snprintf (path, sizeof path, "%s/peers", a->conf->state_dir);
    snprintf (tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen (tmp, "w");
    if (!f) {
        gl_warning ("cannot write %s: %s", tmp, strerror (errno));
        return;
    }
    fprintf (f, "# members this node last saw alive: asked, with the seeds, at start\n");
    swim_member_t m;
    size_t n = 0;
    for (size_t i = 0; n < PEERS_MAX && swim_member_at (a->swim, i, &m); i++)
        if (m.state == SWIM_ALIVE && m.addr[0] && strcmp (m.name, a->conf->name)) {
            fprintf (f, "%s\n", m.addr);
            n++;
        }
    if (fclose (f) != 0 || rename (tmp, path) != 0) {
        gl_warning ("cannot write %s: %s", path, strerror (errno));
        unlink (tmp);
    }
}

/* Adds the remembered addresses not already there to seeds[*n]; a file
   that is missing or holds lines that are not addresses adds nothing. */
static void peers_load (agent_t *a, const char **seeds, char (*room)[GL_ADDR_MAX + 1], size_t *n,
                        size_t max)
{
    char path[GL_PATH_MAX + 16], line[GL_ADDR_MAX + 2];
    snprintf (path, sizeof path, "%s/peers", a->conf->state_dir);
    FILE *f = fopen (path, "r");
    if (!f)
        return;
    size_t k = 0;
    while (*n < max && k < PEERS_MAX && fgets (line, sizeof line, f)) {
        line[strcspn (line, "\n")] = '\0';
        size_t len = strlen (line);
        if (len > GL_ADDR_MAX || strncmp (line, "tcp://", 6) || !strcmp (line, a->conf->advertise))
            continue; /* too long (its tail comes next, not tcp://), or not one */
        bool known = false;
        for (size_t i = 0; i < *n && !known; i++)
            known = !strcmp (seeds[i], line);
        if (known)
            continue;
        memcpy (room[k], line, len + 1);
        seeds[(*n)++] = room[k++];
    }
    fclose (f);
}

/* ---- the job plane: callbacks for jobs.c ------------------------------------------ */

static void job_send_node (void *arg, const char *node, const gl_msg_t *msg)
{
    agent_t *a = (agent_t *) arg;
    swim_member_t m;
    if (swim_lookup (a->swim, node, &m) && m.addr[0])
        send_msg (a, m.addr, msg, gl_mono_ms ());
    else
        a->send_dropped++;
}

static int job_send_local (void *arg, uint64_t conn, const gl_msg_t *msg)
{
    agent_t *a = (agent_t *) arg;
    if (msg->type == GL_MSG_JOB && a->in_job && msg->job == a->in_job)
        return ctl_server_send (a->ctl, conn, a->in_body, a->in_body_len);
    uint8_t *body;
    size_t len;
    if (gl_msg_encode (msg, &body, &len))
        return -1;
    int rc = ctl_server_send (a->ctl, conn, body, len);
    free (body);
    return rc;
}

static void job_close_local (void *arg, uint64_t conn)
{
    ctl_server_close (((agent_t *) arg)->ctl, conn);
}

static void job_guest (void *arg, int pid, bool started)
{
    agent_t *a = (agent_t *) arg;
    if (started)
        idle_add_guest (a->idle, pid);
    else
        idle_remove_guest (a->idle, pid);
    a->view_dirty = true;
}

static void on_job_fd (gl_loop_t *loop, int fd, short revents, void *arg)
{
    agent_t *a = (agent_t *) arg;
    jobs_ready (a->jobs, fd, revents, gl_mono_ms ());
}

static void job_watch (void *arg, int fd, short events)
{
    agent_t *a = (agent_t *) arg;
    if (gl_loop_fd (a->loop, fd, events, on_job_fd, a))
        gl_error ("cannot watch a job's fd %d: %s", fd, strerror (errno));
}

/* glx opens a stream for its job; its frames are job messages. */
static int stream_open (void *arg, uint64_t conn, const gl_ctl_req_t *req, const char **why)
{
    agent_t *a = (agent_t *) arg;
    if (a->leaving) {
        *why = "this agent is leaving the cluster";
        return -1;
    }
    return 0;
}

/* Credentials (cred.h): a home signs with its node key; a host checks
   with the key it pinned for the home. */
static void job_sign (void *arg, gl_job_t *run)
{
    agent_t *a = (agent_t *) arg;
    if (cred_sign (a->ident, a->conf->cluster, run, gl_wall_ms ()))
        gl_error ("cannot sign the credential of %s", run->gpid);
}

static int job_check (void *arg, const gl_job_t *run, const char **why)
{
    agent_t *a = (agent_t *) arg;
    uint8_t pubkey[GL_PUBKEY_BYTES];
    if (!swim_pubkey (a->swim, run->home, pubkey)) {
        *why = "its home's node key is not known here";
        return -1;
    }
    return cred_check (a->conf->cluster, run, pubkey, gl_wall_ms (), a->conf->clock_window_ms, why);
}

/* The gossip view as placement candidates, for jobs.c. */
static place_cand_t *job_view (void *arg, size_t *n, uint64_t now)
{
    agent_t *a = (agent_t *) arg;
    size_t count = swim_count (a->swim);
    place_cand_t *cands = calloc (count ? count : 1, sizeof *cands);
    swim_member_t m;
    *n = 0;
    for (size_t i = 0; cands && swim_member_at (a->swim, i, &m); i++)
        place_cand_from_member (&cands[(*n)++], &m, now);
    return cands;
}

static int stream_frame (void *arg, uint64_t conn, const uint8_t *frame, size_t len)
{
    agent_t *a = (agent_t *) arg;
    gl_msg_t msg;
    const char *why = NULL;
    if (gl_msg_decode (frame, len, &msg, &why) || msg.type != GL_MSG_JOB) {
        if (!why)
            gl_msg_clear (&msg);
        gl_warning ("local client sent a bad job message: %s", why ? why : "not a job message");
        return -1;
    }
    /* the job is its user's as the kernel says, not as the client claims */
    ctl_peer_t peer;
    if ((msg.job->type == GL_JOB_RUN || msg.job->type == GL_JOB_SIGNAL ||
         msg.job->type == GL_JOB_CKPT) &&
        ctl_server_peer (a->ctl, conn, &peer) == 0)
        access_stamp (msg.job, peer.uid, peer.gid);
    jobs_local_msg (a->jobs, conn, msg.job, gl_mono_ms ());
    gl_msg_clear (&msg);
    return 0;
}

static void stream_closed (void *arg, uint64_t conn)
{
    agent_t *a = (agent_t *) arg;
    if (a->jobs)
        jobs_local_closed (a->jobs, conn, gl_mono_ms ());
}

/* ---- receiving ---------------------------------------------------------------- */

/* A packet from another agent, on the transport (links.h); pkt NULL: a
   message of several parts, which no agent sends. */
static void on_packet (void *arg, const uint8_t *pkt, size_t pkt_len, uint64_t now)
{
    agent_t *a = (agent_t *) arg;
    uint8_t *body = NULL;
    size_t body_len;
    char sender[GL_NAME_MAX + 1];
    uint64_t sender_gen;
    gl_drop_t reason;
    if (!pkt || pkt_len > GL_PKT_MAX) {
        gl_seal_count (a->seal, GL_DROP_MALFORMED);
        return;
    }
    if (gl_seal_open (a->seal, gl_wall_ms (), pkt, pkt_len, &body, &body_len, sender, &sender_gen,
                      &reason))
        return;
    /* the sender's clock when it sealed the packet, against ours
       now: a one-way sample for every packet, and t3 and t4 of a
       round trip when it is the ACK of our probe (clocks.h) */
    gl_env_t env;
    uint64_t sent_ms = gl_env_decode (pkt, pkt_len, &env, NULL) == 0 ? env.time_ms : 0;
    uint64_t arrived_ms = gl_wall_ms ();
    clocks_heard (a->clocks, sender, sent_ms, arrived_ms);
    gl_msg_t msg;
    const char *why = NULL;
    bool job = false;
    if (gl_msg_decode (body, body_len, &msg, &why) == 0) {
        if (msg.type == GL_MSG_JOB) {
            /* before the job's answer goes out: it must go on a link the
               job holds (links.h) */
            swim_member_t from;
            if (swim_lookup (a->swim, sender, &from) && from.addr[0])
                links_from (a->links, from.addr, true, now);
            job = true;
            a->in_job = msg.job;
            a->in_body = body;
            a->in_body_len = body_len;
            jobs_node_msg (a->jobs, sender, msg.job, now);
            a->in_job = NULL;
        }
        else if (msg.type == GL_MSG_GANG)
            gang_recv (a->gang, sender, msg.gang, now);
        else {
            if (msg.type == GL_MSG_ACK && gl_streq (msg.target, sender) && sent_ms)
                clocks_acked (a->clocks, sender, msg.probe_seq, sent_ms, arrived_ms);
            swim_recv (a->swim, sender, &msg, now);
        }
        gl_msg_clear (&msg);
        /* the connection it came on is the way back to the sender, now a
           member if it was joining: its answers (sent after this
           callback, by pump) take it instead of a connection of their own */
        swim_member_t from;
        if (!job && swim_lookup (a->swim, sender, &from) && from.addr[0])
            links_from (a->links, from.addr, false, now);
    }
    else {
        gl_seal_count (a->seal, GL_DROP_MALFORMED);
        gl_debug ("malformed message from %s: %s", sender, why ? why : "?");
    }
    free (body);
}

/* SIGINT, SIGTERM: leave gracefully; SIGCHLD: a job ended, look at once. */
static void on_signal (gl_loop_t *loop, const struct signalfd_siginfo *si, void *arg)
{
    agent_t *a = (agent_t *) arg;
    if (si->ssi_signo == SIGCHLD) {
        exec_reap (); /* a keeper done with what its job left */
        jobs_tick (a->jobs, gl_mono_ms ());
    }
    else if (!a->leaving) {
        gl_info ("signal %u: leaving", si->ssi_signo);
        a->leaving = true;
    }
}

/* The launcher said something (a job ended), or went away. */
static void on_launcher (gl_loop_t *loop, int fd, short revents, void *arg)
{
    agent_t *a = (agent_t *) arg;
    if (launcher_drain (fd) < 0) {
        gl_error ("the launcher has gone: this agent can start no more jobs");
        gl_loop_fd (loop, fd, 0, on_launcher, a);
    }
    jobs_tick (a->jobs, gl_mono_ms ());
}

/* ---- the control socket: status, leave -------------------------------------------- */

/* A machine's agent serves every local user, but only root and its own
   user may make it leave. */
static bool leave_allowed (const ctl_peer_t *caller)
{
    return caller && (caller->uid == 0 || caller->uid == getuid ());
}

static void ctl_handle (void *arg, const gl_ctl_req_t *req, gl_ctl_resp_t *resp)
{
    agent_t *a = (agent_t *) arg;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&text, &len);
    if (!f) {
        resp->code = 1;
        resp->text = strdup ("out of memory\n");
        return;
    }
    if (!strcmp (req->cmd, "status")) {
        jobs_ckpt_stats_t images;
        jobs_ckpt_stats (a->jobs, &images);
        status_view_t v = { .conf = a->conf,
                            .generation = gl_ident_generation (a->ident),
                            .swim = a->swim,
                            .seal = a->seal,
                            .policy = a->policy,
                            .links = a->links,
                            .gang = a->gang,
                            .clocks = a->clocks,
                            .stop_method =
                                a->freeze ? freeze_method (a->freeze) : "none (coscheduling off)",
                            .gang_procs = jobs_gang_procs (a->jobs),
                            .switches = a->switches,
                            .switch_stops = a->switch_stops,
                            .switch_conts = a->switch_conts,
                            .unconfirmed = a->unconfirmed,
                            .wall_ms = gl_wall_ms (),
                            .send_dropped = a->send_dropped,
                            .view_publishes = a->view ? viewpub_publishes (a->view) : 0,
                            .view_member_writes = a->view ? viewpub_node_writes (a->view) : 0,
                            .res_reason = a->res_reason,
                            .images_read = images.bytes_read,
                            .images_writer_sealed = images.writer_sealed };
        if (req->argc > 0 && !strcmp (req->argv[0], "json"))
            status_json (f, &v, gl_mono_ms ());
        else
            status_text (f, &v, gl_mono_ms ());
        resp->code = 0;
    }
    else if (!strcmp (req->cmd, "view") && a->view) {
        viewpub_json (a->view, f);
        resp->code = 0;
    }
    else if (!strcmp (req->cmd, "checkpoint") || !strcmp (req->cmd, "migrate")) {
        fprintf (f, "%s: not supported\n", req->cmd);
        resp->code = 3;
    }
    else if (!strcmp (req->cmd, "leave") && !leave_allowed (ctl_server_caller (a->ctl))) {
        fprintf (f, "leave: refused: only root and this agent's user (uid %u) may make it leave\n",
                 (unsigned) getuid ());
        resp->code = 4;
    }
    else if (!strcmp (req->cmd, "leave")) {
        fprintf (f, "%s: leaving the cluster\n", a->conf->name);
        if (!a->leaving) {
            gl_info ("leave requested through the control socket");
            a->leaving = true;
        }
        resp->code = 0;
    }
    else {
        fprintf (f, "unknown command '%s'\n", req->cmd);
        resp->code = 2;
    }
    if (fclose (f) == 0)
        resp->text = text;
    else {
        free (text);
        resp->code = 1;
    }
}

/* ---- set-up --------------------------------------------------------------------- */

#ifndef GL_PKGLIBDIR
#define GL_PKGLIBDIR "/usr/local/lib/glunix"
#endif

/* The shim preloaded into jobs (glunix(7)): the one beside this program
   in a build tree, else the installed one.  "" when there is none. */
static void find_shim (char *out, size_t len)
{
    char exe[GL_PATH_MAX];
    ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr (exe, '/');
        if (slash) {
            snprintf (out, len, "%.*s/libglshim.so", (int) (slash - exe), exe);
            if (access (out, R_OK) == 0)
                return;
        }
    }
    snprintf (out, len, "%s/libglshim.so", GL_PKGLIBDIR);
    if (access (out, R_OK) != 0) {
        gl_warning ("no shim at %s: jobs run without it", out);
        out[0] = '\0';
    }
}

/* Checkpoints (jobs.h): the socket the jobs' shims reach, in the runtime
   directory (every local user's on a machine's agent, each connection
   judged against its job), and the restorer beside this program in a
   build tree, else the installed one; none: restarts are refused here. */
static int ckpt_open (agent_t *a, char *err, size_t errlen)
{
    char path[GL_PATH_MAX + 16];
    snprintf (path, sizeof path, "%s/ckpt.sock", a->conf->runtime_dir);
    if (jobs_ckpt_listen (a->jobs, path, geteuid () == 0, err, errlen))
        return -1;
    char exe[GL_PATH_MAX], prog[GL_PATH_MAX + 32] = "";
    ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = n > 0 ? (exe[n] = '\0', strrchr (exe, '/')) : NULL;
    if (slash)
        snprintf (prog, sizeof prog, "%.*s/%s", (int) (slash - exe), exe, GL_RESTORE_PROG);
    if (!prog[0] || access (prog, X_OK) != 0)
        snprintf (prog, sizeof prog, "%s/%s", GL_PKGLIBDIR, GL_RESTORE_PROG);
    if (access (prog, X_OK) != 0) {
        gl_info ("no restorer at %s: jobs cannot be restarted or moved to this node", prog);
        prog[0] = '\0';
    }
    jobs_set_restorer (a->jobs, prog);
    /* without an address of its own, a node takes a moved job's image
       through the agents' messages */
    if (a->conf->move_direct)
        jobs_set_addr (a->jobs, a->conf->advertise);
    return 0;
}

/* The owner's return (jobs.h): cluster.conf's policy, and at every sample
   whether the owner is there (busy: typing, or a load of their own). */
static void owner_setup (agent_t *a)
{
    const char *p = a->conf->owner_return;
    jobs_evict_t policy = !strcmp (p, "suspend") ? JOBS_EVICT_SUSPEND
                          : !strcmp (p, "kill")  ? JOBS_EVICT_KILL
                          : !strcmp (p, "stay")  ? JOBS_EVICT_STAY
                                                 : JOBS_EVICT_MIGRATE;
    jobs_set_owner_return (a->jobs, policy, a->conf->owner_grace_ms);
    /* recovery (jobs.h): a job's checkpoint kept at its home */
    jobs_set_recovery (a->jobs, a->conf->checkpoint_every_ms, a->conf->checkpoint_memory_kb * 1024);
}

static void owner_watch (agent_t *a, const gl_res_t *res, uint64_t now)
{
    jobs_owner (a->jobs, res->state == GL_RES_BUSY, now);
}

int agent_mkdir_private (const char *dir, char *err, size_t errlen)
{
    /* A machine's agent (root's) serves every local user: they must be
       able to enter its directory to reach the socket, never to write in
       it.  A user's own agent keeps its directory to itself. */
    bool machine = geteuid () == 0;
    mode_t want = machine ? 0755 : 0700;
    char path[GL_PATH_MAX];
    gl_strlcpy (path, dir, sizeof path);
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir (path, 0755);
            *p = '/';
        }
    bool made = mkdir (path, want) == 0;
    if (!made && errno != EEXIST)
        return gl_err (err, errlen, "%s: %s", dir, strerror (errno));
    if (made && chmod (path, want)) /* past the umask */
        return gl_err (err, errlen, "%s: %s", dir, strerror (errno));
    struct stat st;
    if (stat (path, &st) || !S_ISDIR (st.st_mode) || st.st_uid != geteuid ())
        return gl_err (err, errlen, "%s: not a directory owned by this user", dir);
    /* Never loosen or tighten a directory we did not make: say so instead. */
    if (st.st_mode & (machine ? 0022 : 0077))
        return gl_err (err, errlen,
                       "%s: open to other users (mode %03o); give the agent a "
                       "directory of its own, or chmod %s it",
                       dir, (unsigned) (st.st_mode & 0777), machine ? "755" : "700");
    return 0;
}

/* One agent per runtime directory: hold a lock on glpeer.pid for life. */
static int lock_runtime (agent_t *a, char *err, size_t errlen)
{
    char path[GL_PATH_MAX + 16];
    snprintf (path, sizeof path, "%s/glpeer.pid", a->conf->runtime_dir);
    a->lock_fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (a->lock_fd < 0)
        return gl_err (err, errlen, "%s: %s", path, strerror (errno));
    if (flock (a->lock_fd, LOCK_EX | LOCK_NB)) {
        char pid[32] = "";
        ssize_t n = read (a->lock_fd, pid, sizeof pid - 1);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn (pid, "\n")] = '\0';
        gl_err (err, errlen,
                "another agent (pid %s) is running in %s; stop it with "
                "'glpeer leave' or use another --runtime-dir",
                pid[0] ? pid : "?", a->conf->runtime_dir);
        close (a->lock_fd);
        a->lock_fd = -1;
        return -1;
    }
    char pid[32];
    int n = snprintf (pid, sizeof pid, "%d\n", (int) getpid ());
    if (ftruncate (a->lock_fd, 0) || gl_write_all (a->lock_fd, pid, (size_t) n))
        gl_warning ("%s: cannot write pid", path);
    return 0;
}

/* ---- gangs: the slice timer -------------------------------------------------------- */

/* The cores this agent may use: those of its CPU affinity (taskset), which
   may be fewer than the machine's. */
static uint32_t usable_cores (void)
{
    cpu_set_t set;
    if (sched_getaffinity (0, sizeof set, &set) == 0 && CPU_COUNT (&set) > 0)
        return (uint32_t) CPU_COUNT (&set);
    long n = sysconf (_SC_NPROCESSORS_ONLN);
    return n > 0 ? (uint32_t) n : 1;
}

static uint64_t wall_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* A slice begins: every gang process here stops or goes on, as the
   matrix says.  The log line (debug) carries three times in microseconds
   of the wall clock: when the timer woke us, when the last row's
   processes were still and the new row's were continued (the switch, as
   the jobs see it), and when that was done (the thaws may hand the core
   to a continued process first), for measuring the skew between peers. */
static void on_slice (gl_loop_t *loop, int fd, short revents, void *arg)
{
    agent_t *a = (agent_t *) arg;
    uint64_t expirations;
    if (read (fd, &expirations, sizeof expirations) < 0)
        return;
    uint64_t woke = wall_us ();
    uint64_t slice = gang_slice_of (a->gang, woke / 1000);
    jobs_switch_t sw;
    jobs_gang_stop (a->jobs, slice, &sw);
    uint64_t switched = wall_us ();
    jobs_gang_cont (a->jobs, slice, &sw);
    uint64_t done = wall_us ();
    a->switches++;
    a->switch_stops += sw.stopped;
    a->switch_conts += sw.continued;
    a->unconfirmed += sw.unconfirmed;
    if (sw.stopped || sw.continued) {
        size_t rows = 0;
        uint32_t row = gang_slice_row (a->gang, slice, &rows);
        gl_debug ("gang switch: slice %llu row %d of %zu: %zu stopped, %zu continued, %zu "
                  "running, %zu held%s; woke %llu.%06llu switched %llu.%06llu done %llu.%06llu",
                  (unsigned long long) slice, row == UINT32_MAX ? -1 : (int) row, rows, sw.stopped,
                  sw.continued, sw.running, sw.held, sw.unconfirmed ? " (a stop unconfirmed)" : "",
                  (unsigned long long) (woke / 1000000), (unsigned long long) (woke % 1000000),
                  (unsigned long long) (switched / 1000000),
                  (unsigned long long) (switched % 1000000), (unsigned long long) (done / 1000000),
                  (unsigned long long) (done % 1000000));
    }
}

/* The timer runs while gang processes run here: at every slice boundary
   of the wall clock, the same instants on every peer whose clock is set. */
static void slice_arm (agent_t *a, bool on)
{
    struct itimerspec its;
    memset (&its, 0, sizeof its);
    if (on) {
        uint64_t slice = gang_slice_ms (a->gang);
        uint64_t next = (gl_wall_ms () / slice + 1) * slice;
        its.it_value.tv_sec = (time_t) (next / 1000);
        its.it_value.tv_nsec = (long) (next % 1000) * 1000000;
        its.it_interval.tv_sec = (time_t) (slice / 1000);
        its.it_interval.tv_nsec = (long) (slice % 1000) * 1000000;
    }
    if (timerfd_settime (a->slice_fd, on ? TFD_TIMER_ABSTIME : 0, &its, NULL))
        gl_error ("cannot set the slice timer: %s", strerror (errno));
    else
        a->slice_armed = on;
}

static int gangs_open (agent_t *a, char *err, size_t errlen)
{
    const gl_conf_t *conf = a->conf;
    char tag[GL_NAME_MAX + 32];
    snprintf (tag, sizeof tag, "%s.%d", conf->name, (int) getpid ());
    if (!strcmp (conf->gang_stop, "none")) { /* no timer, nothing stopped */
        jobs_set_gang (a->jobs, a->gang, NULL, conf->gang_depth);
        gl_info ("gangs: coscheduling off (sched/gang_stop is none): gang processes are "
                 "placed and elected, never stopped");
        return 0;
    }
    freeze_want_t want = !strcmp (conf->gang_stop, "freezer")   ? FREEZE_CGROUP
                         : !strcmp (conf->gang_stop, "signals") ? FREEZE_SIGNALS
                                                                : FREEZE_AUTO;
    /* A machine's agent drops root once set up (launcher.h): it could not
       put its jobs into cgroups then, so its gangs stop by signals, which
       the launcher sends. */
    if (a->launcher >= 0 && want == FREEZE_CGROUP)
        return gl_err (err, errlen,
                       "sched/gang_stop: the cgroup freezer needs an agent that keeps root, and a "
                       "machine's agent drops it (privilege separation); use signals or auto");
    if (a->launcher >= 0)
        want = FREEZE_SIGNALS;
    if (!(a->freeze = freeze_new (want, tag, err, errlen)))
        return -1;
    jobs_set_gang (a->jobs, a->gang, a->freeze, conf->gang_depth);
    a->slice_fd = timerfd_create (CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
    if (a->slice_fd < 0 || gl_loop_fd (a->loop, a->slice_fd, POLLIN, on_slice, a))
        return gl_err (err, errlen, "cannot make the slice timer: %s", strerror (errno));
    /* slices are short: the kernel's default timer slack (50 us) would be
       most of the skew between peers */
    prctl (PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    /* The jobs keep the cores busy, and a switch late by a scheduler tick
       on one peer is a gang half stopped: the agent runs at nice
       AGENT_NICE where it may (root, CAP_SYS_NICE), so that its timer
       preempts them.  SCHED_RESET_ON_FORK gives every process it starts
       the default nice again. */
    struct sched_param sp = { .sched_priority = 0 };
    if (sched_setscheduler (0, SCHED_OTHER | SCHED_RESET_ON_FORK, &sp) == 0 &&
        setpriority (PRIO_PROCESS, 0, AGENT_NICE) == 0)
        gl_debug ("running at nice %d, jobs at 0", AGENT_NICE);
    gl_info ("gangs: slices of %u ms, %u processes a core, stopped by %s", conf->gang_slice_ms,
             conf->gang_depth, freeze_method (a->freeze));
    return 0;
}

static int agent_open (agent_t *a, const gl_conf_t *conf, char *err, size_t errlen)
{
    a->conf = conf;
    a->lock_fd = -1;
    a->slice_fd = -1;
    a->launcher = -1;
    a->started_wall_ms = gl_wall_ms ();
    snprintf (a->res_reason, sizeof a->res_reason, "not measured yet");
    if (agent_mkdir_private (conf->runtime_dir, err, errlen) || lock_runtime (a, err, errlen))
        return -1;
    a->ident = gl_ident_open (conf->state_dir, gl_wall_ms (), err, errlen);
    if (!a->ident)
        return -1;
    a->seal = gl_seal_new (conf->key, conf->cluster, conf->name, gl_ident_generation (a->ident),
                           conf->clock_window_ms);
    if (!a->seal)
        return gl_err (err, errlen, "cannot set up sealing");
    /* A machine's agent: the root launcher, forked before any thread
       starts; the agent drops root at the end of its set-up. */
    if (geteuid () == 0) {
        if ((a->launcher = launcher_spawn (conf, &a->launcher_pid, err, errlen)) < 0)
            return -1;
        exec_set_launcher (a->launcher);
    }

    /* czmq would install its own SIGINT/SIGTERM handlers; we take signals
       through the loop's signalfd instead.  Before ZeroMQ's I/O threads
       start with the first socket, so that they block them too. */
    zsys_handler_set (NULL);
    if (!(a->loop = gl_loop_new (err, errlen)))
        return -1;
    if (gl_loop_signal (a->loop, SIGINT, on_signal, a) ||
        gl_loop_signal (a->loop, SIGTERM, on_signal, a) ||
        gl_loop_signal (a->loop, SIGCHLD, on_signal, a)) /* a job ended: look at once */
        return gl_err (err, errlen, "cannot take signals: %s", strerror (errno));
    signal (SIGPIPE, SIG_IGN);

    /* ZeroMQ speaks IPv6 only when asked to. */
    if (strchr (conf->bind, '[') || strchr (conf->advertise, '['))
        zsys_set_ipv6 (1);
    links_config_t lc = { .max_links = conf->max_links,
                          .idle_ms = conf->link_idle_ms,
                          .send_queue = conf->send_queue,
                          .recv_queue = RECV_QUEUE,
                          .job_hold_ms = JOB_HOLD_MS };
    if (!(a->links = links_new (&lc, a->loop, conf->bind, on_packet, a, err, errlen)))
        return -1;
    if (conf->gossip_peers && conf->gossip_peers >= conf->max_links)
        gl_warning ("gossip/gossip_peers (%u) is not below transport/max_links (%u): gossip "
                    "will open and close connections all the time",
                    conf->gossip_peers, conf->max_links);

    char sock_path[GL_PATH_MAX + 16];
    snprintf (sock_path, sizeof sock_path, "%s/glpeer.sock", conf->runtime_dir);
    a->ctl = ctl_server_new (a->loop, sock_path, ctl_handle, a, err, errlen);
    if (!a->ctl || (geteuid () == 0 && ctl_server_serve_all (a->ctl, err, errlen)))
        return -1;

    idle_config_t ic;
    idle_config_default (&ic);
    gl_strlcpy (ic.proc_dir, conf->proc_dir, sizeof ic.proc_dir);
    if (conf->n_activity) {
        ic.n_activity = conf->n_activity;
        for (uint32_t i = 0; i < conf->n_activity; i++)
            gl_strlcpy (ic.activity[i], conf->activity[i], sizeof ic.activity[i]);
    }
    ic.owner_idle_min_s = conf->owner_idle_min_s;
    ic.owner_load_max_milli = conf->owner_load_max_milli;
    ic.min_mem_avail_kb = conf->min_mem_avail_kb;
    a->idle = idle_new (&ic);

    swim_config_t sc;
    swim_config_from_conf (&sc, conf);
    swim_signer_t signer = { a->ident, agent_sign, agent_verify };
    uint64_t seed;
    randombytes_buf (&seed, sizeof seed);
    a->swim = swim_new (&sc, conf->name, conf->advertise, gl_ident_generation (a->ident),
                        gl_ident_pubkey (a->ident), &signer, seed, gl_mono_ms ());
    jobs_io_t io = { .arg = a,
                     .send_node = job_send_node,
                     .send_local = job_send_local,
                     .close_local = job_close_local,
                     .guest = job_guest,
                     .view = job_view,
                     .watch = job_watch,
                     .sign = job_sign,
                     .check = job_check };
    uint32_t cores = usable_cores ();
    a->jobs = jobs_new (conf->name, gl_ident_generation (a->ident), cores, &io,
                        seed ^ 0x9e3779b97f4a7c15ull);
    gang_config_t gc;
    gang_config_default (&gc);
    gc.slice_ms = conf->gang_slice_ms;
    a->gang = gang_new (&gc, conf->name, cores, seed ^ 0x67616e67736c6963ull);
    a->clocks = clocks_new ();
    if (!a->idle || !a->swim || !a->jobs || !a->gang || !a->clocks)
        return gl_err (err, errlen, "out of memory");
    access_t *access = access_new (conf, geteuid () == 0);
    if (!access)
        return gl_err (err, errlen, "out of memory");
    jobs_set_access (a->jobs, access);
    if (gangs_open (a, err, errlen))
        return -1;
    /* after the signal mask above: the loader's watchdog thread inherits
       it, so SIGCHLD and the rest still reach only our signalfd */
    if (conf->policy[0]) {
        if (!(a->policy = policy_new (conf->policy, conf->policy_budget_ms, err, errlen)))
            return -1;
        jobs_set_policy (a->jobs, policy_score, a->policy);
        gl_info ("placement policy %s loaded (budget %u ms per call)", conf->policy,
                 conf->policy_budget_ms);
    }
    ctl_server_set_stream (a->ctl, stream_open, stream_frame, stream_closed);
    if (ckpt_open (a, err, errlen))
        return -1;
    owner_setup (a);
    /* The view in shared memory: jobs do without it (and say so) if the
       machine has no room for it, so the agent runs on. */
    char verr[256];
    if (!(a->view = viewpub_new (conf, gl_ident_generation (a->ident), verr, sizeof verr)))
        gl_warning ("no shared-memory view for jobs: %s", verr);
    char shim[GL_PATH_MAX];
    find_shim (shim, sizeof shim);
    jobs_set_job_env (a->jobs, conf->runtime_dir, shim);
    if (a->launcher >= 0) {
        if (gl_loop_fd (a->loop, a->launcher, POLLIN, on_launcher, a))
            return gl_err (err, errlen, "cannot watch the launcher: %s", strerror (errno));
        if (launcher_drop (conf, err, errlen))
            return -1;
    }
    return 0;
}

static void agent_close (agent_t *a)
{
    ctl_server_destroy (&a->ctl); /* before the jobs its streams feed */
    viewpub_destroy (&a->view);
    jobs_destroy (&a->jobs); /* continues its gang processes as it kills them */
    freeze_destroy (&a->freeze);
    gang_destroy (&a->gang);
    clocks_destroy (&a->clocks);
    if (a->slice_fd >= 0) {
        if (a->loop)
            gl_loop_fd (a->loop, a->slice_fd, 0, on_slice, a);
        close (a->slice_fd);
        a->slice_fd = -1;
    }
    policy_destroy (&a->policy);
    swim_destroy (&a->swim);
    idle_destroy (&a->idle);
    links_destroy (&a->links);
    gl_seal_destroy (&a->seal);
    gl_ident_destroy (&a->ident);
    gl_loop_destroy (&a->loop); /* after everything that watches through it */
    if (a->lock_fd >= 0) {
        char path[GL_PATH_MAX + 16];
        snprintf (path, sizeof path, "%s/glpeer.pid", a->conf->runtime_dir);
        unlink (path);
        close (a->lock_fd);
    }
    if (a->launcher >= 0) {
        /* it kills what is left of our jobs, removes the files we may
           not, and exits: wait for that, so that we leave none behind */
        exec_set_launcher (-1);
        close (a->launcher);
        while (waitpid (a->launcher_pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
}

/* ---- the loop --------------------------------------------------------------------- */

static void sample (agent_t *a, uint64_t now)
{
    char err[256] = "";
    gl_res_t res;
    int rc = idle_sample (a->idle, now, gl_wall_ms () / 1000, &res, err, sizeof err);
    if (rc)
        gl_warning ("idle sample: %s", err);
    res.started = jobs_started (a->jobs);
    owner_watch (a, &res, now);
    if (res.state != a->res.state || !a->next_sample_ms)
        gl_info ("this node is %s: %s", idle_state_name (res.state), idle_reason (a->idle));
    a->res = res;
    jobs_set_res (a->jobs, &res);
    snprintf (a->res_reason, sizeof a->res_reason, "%s (%s)", idle_state_name (res.state),
              idle_reason (a->idle));
    /* Sample often, speak seldom: only news, or a refresh of the old. */
    if (!a->published_ms || idle_res_differs (&a->published, &res) ||
        now - a->published_ms >= a->refresh_ms) {
        swim_set_res (a->swim, &res, now);
        a->published = res;
        a->published_ms = now;
        /* within +-10 %: nodes started together must not refresh together */
        a->refresh_ms = a->conf->refresh_interval_ms / 10 * 9 +
                        randombytes_uniform (a->conf->refresh_interval_ms / 5 + 1);
    }
    a->next_sample_ms = now + a->conf->sample_interval_ms;
}

static void on_sample (gl_loop_t *loop, int id, void *arg)
{
    agent_t *a = (agent_t *) arg;
    if (a->leaving)
        return; /* a leaving node has nothing more to say about itself */
    sample (a, gl_mono_ms ());
    a->view_dirty = true; /* estimates come without events: refresh */
    gl_loop_timer (loop, a->next_sample_ms, on_sample, a);
}

/* The owner's keystroke between samples: while guests run here and the
   owner is away, the activity sources the last sample found are looked
   at every TOUCH_MS (a stat or two), and a touch takes a sample at once,
   so that guests leave within a tenth of a second of it, not within a
   sample interval.  Without guests, as seldom as the samples. */
#define TOUCH_MS 100

static void on_touch (gl_loop_t *loop, int id, void *arg)
{
    agent_t *a = (agent_t *) arg;
    if (a->leaving)
        return;
    uint64_t now = gl_mono_ms ();
    bool guests = jobs_hosted (a->jobs, NULL, 0) > 0;
    if (guests && a->res.state != GL_RES_BUSY && idle_touched (a->idle)) {
        sample (a, now);
        a->view_dirty = true;
    }
    uint64_t every =
        guests && a->conf->sample_interval_ms > TOUCH_MS ? TOUCH_MS : a->conf->sample_interval_ms;
    gl_loop_timer (loop, now + every, on_touch, a);
}

/* The view is refreshed with every sample: one wake-up a second for both,
   not two at their own phases.  This timer is there only when samples
   are further apart than the view's refresh. */
static void on_view (gl_loop_t *loop, int id, void *arg)
{
    agent_t *a = (agent_t *) arg;
    a->view_dirty = true;
    gl_loop_timer (loop, gl_mono_ms () + GL_VIEW_REFRESH_MS, on_view, a);
}

static void on_leave_flushed (gl_loop_t *loop, int id, void *arg)
{
    gl_loop_stop (loop);
}

static void start_leave (agent_t *a, uint64_t now)
{
    gl_info ("leaving the cluster");
    jobs_leave (a->jobs, now);
    swim_leave (a->swim, now);
    pump (a, now);
    a->leaving = a->leave_started = true;
    gl_loop_timer (a->loop, now + LEAVE_FLUSH_MS, on_leave_flushed, a);
}

/* Before every wait, after whatever happened: the protocol machines run
   (their timers, what a message or a client asked), what they want said
   goes out, and the loop sleeps until their next deadline, a second at
   most. */
static uint64_t agent_turn (gl_loop_t *loop, void *arg)
{
    agent_t *a = (agent_t *) arg;
    uint64_t now = gl_mono_ms ();
    if (a->leaving && !a->leave_started)
        start_leave (a, now);
    swim_tick (a->swim, now);
    jobs_tick (a->jobs, now);
    gang_tick (a->gang, now);
    pump (a, now);
    links_tick (a->links, now);
    bool gangs_here = a->slice_fd >= 0 && jobs_gang_procs (a->jobs) > 0;
    if (gangs_here != a->slice_armed)
        slice_arm (a, gangs_here);
    if (a->peers_dirty && now >= a->peers_saved_ms + PEERS_SAVE_MS)
        peers_save (a, now);
    if (a->view && (a->view_dirty || (a->view_news && now >= a->view_ms + VIEW_NEWS_MS))) {
        viewpub_publish (a->view, a->swim, a->jobs, a->clocks, now, gl_wall_ms ());
        a->view_dirty = a->view_news = false;
        a->view_ms = now;
    }
    uint64_t deadline = swim_next_deadline (a->swim);
    if (a->view && a->view_news && a->view_ms + VIEW_NEWS_MS < deadline)
        deadline = a->view_ms + VIEW_NEWS_MS;
    uint64_t jobs_at = jobs_next_deadline (a->jobs, now);
    if (jobs_at < deadline)
        deadline = jobs_at;
    uint64_t gang_at = gang_next_deadline (a->gang);
    if (gang_at < deadline)
        deadline = gang_at;
    return deadline < now + 1000 ? deadline : now + 1000;
}

int agent_run (const gl_conf_t *conf, int ready_fd)
{
    agent_t a = { 0 };
    char err[2 * GL_PATH_MAX + 512] = "";
    if (agent_open (&a, conf, err, sizeof err)) {
        gl_error ("%s", err);
        if (ready_fd >= 0 && write (ready_fd, err, strlen (err)) < 0)
            gl_error ("cannot report to the parent process");
        agent_close (&a);
        return 1;
    }
    gl_info ("node %s (generation %llu) listening on %s, advertised as %s, cluster %s", conf->name,
             (unsigned long long) gl_ident_generation (a.ident), conf->bind, conf->advertise,
             conf->cluster);
    if (ready_fd >= 0) {
        if (write (ready_fd, "ok", 2) < 0)
            gl_error ("cannot report to the parent process");
        close (ready_fd);
    }

    uint64_t now = gl_mono_ms ();
    sample (&a, now);
    const char *seeds[GL_SEEDS_MAX + PEERS_MAX];
    static char remembered[PEERS_MAX][GL_ADDR_MAX + 1];
    size_t n_seeds = 0;
    for (uint32_t i = 0; i < conf->n_seeds; i++)
        if (strcmp (conf->seeds[i], conf->advertise))
            seeds[n_seeds++] = conf->seeds[i];
    peers_load (&a, seeds, remembered, &n_seeds, GL_SEEDS_MAX + PEERS_MAX);
    if (n_seeds)
        swim_join (a.swim, seeds, n_seeds, now);
    gl_loop_timer (a.loop, a.next_sample_ms, on_sample, &a);
    gl_loop_timer (a.loop, a.next_sample_ms + TOUCH_MS, on_touch, &a);
    if (conf->sample_interval_ms > GL_VIEW_REFRESH_MS)
        gl_loop_timer (a.loop, now + GL_VIEW_REFRESH_MS, on_view, &a);
    a.view_dirty = true;
    gl_loop_before (a.loop, agent_turn, &a);
    if (gl_loop_run (a.loop))
        gl_error ("event loop: %s", strerror (errno));

    /* Let the LEAVE already handed to ZeroMQ go out before the context ends. */
    links_linger (a.links, LEAVE_FLUSH_MS);
    gl_info ("left");
    agent_close (&a);
    return 0;
}
