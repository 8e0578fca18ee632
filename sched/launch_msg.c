/*  launch_msg.c -- the agent <-> launcher messages.  See launch_msg.h. */
#include "launch_msg.h"
#include "err.h"
#include "str.h"

#include <stdlib.h>
#include <string.h>

/* ---- encoding -------------------------------------------------------------- */

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    bool failed;
} out_t;

static void put (out_t *o, const void *p, size_t n)
{
    if (o->failed)
        return;
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n)
            cap *= 2;
        uint8_t *buf = realloc (o->buf, cap);
        if (!buf) {
            o->failed = true;
            return;
        }
        o->buf = buf;
        o->cap = cap;
    }
    memcpy (o->buf + o->len, p, n);
    o->len += n;
}

static void put_u (out_t *o, uint64_t v, int bytes)
{
    uint8_t b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (uint8_t) (v >> (8 * (bytes - 1 - i)));
    put (o, b, (size_t) bytes);
}

static void put_str (out_t *o, const char *s)
{
    size_t n = strlen (s);
    put_u (o, n, 4);
    put (o, s, n);
}

static bool strv_fits (char *const *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!v || !v[i])
            return false;
    return true;
}

int launch_encode (const launch_msg_t *m, uint8_t **out, size_t *len)
{
    out_t o = { 0 };
    put_u (&o, 0, 4); /* the length, filled in below */
    put_u (&o, m->type, 1);
    put_u (&o, m->id, 8);
    switch (m->type) {
        case LAUNCH_RUN:
            if (!m->file || !m->file[0] || !m->cwd || m->cwd[0] != '/' || m->argc < 1 ||
                m->argc > GL_JOB_ARGS_MAX || m->envc > GL_JOB_ARGS_MAX ||
                !strv_fits (m->argv, m->argc) || (m->envc && !strv_fits (m->envv, m->envc)) ||
                m->umask > 0777 || (m->flags & ~LAUNCH_FLAGS_ALL) ||
                m->n_rlimits > LAUNCH_RLIMITS_MAX ||
                (m->n_rlimits && !strv_fits (m->rlimits, m->n_rlimits)))
                goto bad;
            put_u (&o, m->umask, 4);
            put_u (&o, m->flags, 1);
            put_u (&o, m->rows, 2);
            put_u (&o, m->cols, 2);
            put_str (&o, m->user);
            put_str (&o, m->file);
            put_str (&o, m->cwd);
            put_u (&o, m->argc, 4);
            for (uint32_t i = 0; i < m->argc; i++)
                put_str (&o, m->argv[i]);
            put_u (&o, m->envc, 4);
            for (uint32_t i = 0; i < m->envc; i++)
                put_str (&o, m->envv[i]);
            put_u (&o, m->n_rlimits, 4);
            for (uint32_t i = 0; i < m->n_rlimits; i++)
                put_str (&o, m->rlimits[i]);
            break;
        case LAUNCH_SIGNAL:
            if (m->signo < 1 || m->signo > GL_JOB_SIGNO_MAX)
                goto bad;
            put_u (&o, m->signo, 4);
            break;
        case LAUNCH_SIGQUEUE:
            if (m->signo < 1 || m->signo > GL_JOB_SIGNO_MAX)
                goto bad;
            put_u (&o, m->signo, 4);
            put_u (&o, m->value, 4);
            break;
        case LAUNCH_FREE: break;
        case LAUNCH_STARTED:
            if (m->pid < 1 || m->pid > INT32_MAX)
                goto bad;
            put_u (&o, m->pid, 4);
            break;
        case LAUNCH_FAILED:
            if (!m->text || !m->text[0] || strlen (m->text) > LAUNCH_TEXT_MAX)
                goto bad;
            put_u (&o, m->code, 4);
            put_str (&o, m->text);
            break;
        case LAUNCH_EXITED:
            if (m->code > 255 || m->signo > GL_JOB_SIGNO_MAX)
                goto bad;
            put_u (&o, m->code, 4);
            put_u (&o, m->signo, 4);
            put_u (&o, m->core, 1);
            break;
        default: goto bad;
    }
    if (o.failed || o.len > LAUNCH_MSG_MAX)
        goto bad;
    uint32_t body = (uint32_t) (o.len - 4);
    for (int i = 0; i < 4; i++)
        o.buf[i] = (uint8_t) (body >> (8 * (3 - i)));
    *out = o.buf;
    *len = o.len;
    return 0;
bad:
    free (o.buf);
    return -1;
}

/* ---- decoding -------------------------------------------------------------- */

typedef struct {
    const uint8_t *p;
    size_t left;
} in_t;

static bool get_u (in_t *in, int bytes, uint64_t *v)
{
    if (in->left < (size_t) bytes)
        return false;
    *v = 0;
    for (int i = 0; i < bytes; i++)
        *v = *v << 8 | in->p[i];
    in->p += bytes;
    in->left -= (size_t) bytes;
    return true;
}

/* A string of at most max bytes, none of them NUL, into a fresh buffer. */
static char *get_str (in_t *in, size_t max, const char **why)
{
    uint64_t n;
    if (!get_u (in, 4, &n) || n > in->left) {
        gl_why (why, "launch: string runs past the end");
        return NULL;
    }
    if (n > max) {
        gl_why (why, "launch: string too long");
        return NULL;
    }
    if (memchr (in->p, 0, n)) {
        gl_why (why, "launch: NUL in a string");
        return NULL;
    }
    char *s = malloc (n + 1);
    if (!s) {
        gl_why (why, "launch: out of memory");
        return NULL;
    }
    memcpy (s, in->p, n);
    s[n] = '\0';
    in->p += n;
    in->left -= n;
    return s;
}

/* count strings; a count the bytes left cannot hold (4 each at least) is
   refused before anything is allocated */
static char **get_strv (in_t *in, uint32_t *count, uint32_t max, bool need_one, const char **why)
{
    uint64_t n;
    if (!get_u (in, 4, &n)) {
        gl_why (why, "launch: truncated count");
        return NULL;
    }
    if (n > max || n > in->left / 4 || (need_one && n == 0)) {
        gl_why (why, need_one && n == 0 ? "launch: no argv" : "launch: bad count");
        return NULL;
    }
    char **v = calloc ((size_t) n + 1, sizeof *v);
    if (!v) {
        gl_why (why, "launch: out of memory");
        return NULL;
    }
    for (uint64_t i = 0; i < n; i++)
        if (!(v[i] = get_str (in, LAUNCH_MSG_MAX, why))) {
            for (uint64_t k = 0; k < i; k++)
                free (v[k]);
            free (v);
            return NULL;
        }
    *count = (uint32_t) n;
    return v;
}

void launch_clear (launch_msg_t *m)
{
    free (m->file);
    free (m->cwd);
    free (m->text);
    for (uint32_t i = 0; m->argv && i < m->argc; i++)
        free (m->argv[i]);
    for (uint32_t i = 0; m->envv && i < m->envc; i++)
        free (m->envv[i]);
    for (uint32_t i = 0; m->rlimits && i < m->n_rlimits; i++)
        free (m->rlimits[i]);
    free (m->argv);
    free (m->envv);
    free (m->rlimits);
    memset (m, 0, sizeof *m);
}

int launch_decode (const uint8_t *buf, size_t len, launch_msg_t *m, const char **why)
{
    memset (m, 0, sizeof *m);
    in_t in = { buf, len };
    uint64_t body, type, v;
    if (!get_u (&in, 4, &body) || body != in.left)
        return gl_why (why, "launch: length prefix does not match the message");
    if (len > LAUNCH_MSG_MAX)
        return gl_why (why, "launch: message too long");
    if (!get_u (&in, 1, &type) || !get_u (&in, 8, &m->id))
        return gl_why (why, "launch: truncated header");
    m->type = (uint8_t) type;
    switch (type) {
        case LAUNCH_RUN: {
            uint64_t mask, flags, rows, cols;
            if (!get_u (&in, 4, &mask) || !get_u (&in, 1, &flags) || !get_u (&in, 2, &rows) ||
                !get_u (&in, 2, &cols))
                return gl_why (why, "launch: truncated run");
            if (mask > 0777)
                return gl_why (why, "launch: umask above 0777");
            if (flags & ~(uint64_t) LAUNCH_FLAGS_ALL)
                return gl_why (why, "launch: unknown flags");
            m->umask = (uint32_t) mask;
            m->flags = (uint8_t) flags;
            m->rows = (uint16_t) rows;
            m->cols = (uint16_t) cols;
            char *user = get_str (&in, GL_JOB_USER_MAX, why);
            if (!user)
                goto bad;
            gl_strlcpy (m->user, user, sizeof m->user);
            free (user);
            if (!(m->file = get_str (&in, GL_JOB_PATH_MAX, why)) ||
                !(m->cwd = get_str (&in, GL_JOB_PATH_MAX, why)))
                goto bad;
            if (!m->file[0]) {
                gl_why (why, "launch: empty program");
                goto bad;
            }
            if (m->cwd[0] != '/') {
                gl_why (why, "launch: cwd not absolute");
                goto bad;
            }
            if (!(m->argv = get_strv (&in, &m->argc, GL_JOB_ARGS_MAX, true, why)) ||
                !(m->envv = get_strv (&in, &m->envc, GL_JOB_ARGS_MAX, false, why)) ||
                !(m->rlimits = get_strv (&in, &m->n_rlimits, LAUNCH_RLIMITS_MAX, false, why)))
                goto bad;
            break;
        }
        case LAUNCH_SIGNAL:
            if (!get_u (&in, 4, &v))
                return gl_why (why, "launch: truncated signal");
            if (v < 1 || v > GL_JOB_SIGNO_MAX)
                return gl_why (why, "launch: signal outside 1..64");
            m->signo = (uint32_t) v;
            break;
        case LAUNCH_SIGQUEUE: {
            uint64_t value;
            if (!get_u (&in, 4, &v) || !get_u (&in, 4, &value))
                return gl_why (why, "launch: truncated sigqueue");
            if (v < 1 || v > GL_JOB_SIGNO_MAX)
                return gl_why (why, "launch: signal outside 1..64");
            m->signo = (uint32_t) v;
            m->value = (uint32_t) value;
            break;
        }
        case LAUNCH_FREE: break;
        case LAUNCH_STARTED:
            if (!get_u (&in, 4, &v))
                return gl_why (why, "launch: truncated started");
            if (v < 1 || v > INT32_MAX)
                return gl_why (why, "launch: bad pid");
            m->pid = (uint32_t) v;
            break;
        case LAUNCH_FAILED:
            if (!get_u (&in, 4, &v))
                return gl_why (why, "launch: truncated failure");
            m->code = (uint32_t) v;
            if (!(m->text = get_str (&in, LAUNCH_TEXT_MAX, why)))
                goto bad;
            if (!m->text[0]) {
                gl_why (why, "launch: empty failure text");
                goto bad;
            }
            break;
        case LAUNCH_EXITED: {
            uint64_t sig, core;
            if (!get_u (&in, 4, &v) || !get_u (&in, 4, &sig) || !get_u (&in, 1, &core))
                return gl_why (why, "launch: truncated exit");
            if (v > 255 || sig > GL_JOB_SIGNO_MAX || core > 1)
                return gl_why (why, "launch: exit status out of range");
            m->code = (uint32_t) v;
            m->signo = (uint32_t) sig;
            m->core = core;
            break;
        }
        default: return gl_why (why, "launch: unknown type");
    }
    if (in.left) {
        gl_why (why, "launch: bytes after the message");
        goto bad;
    }
    return 0;
bad:
    launch_clear (m);
    return -1;
}
