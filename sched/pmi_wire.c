/*  pmi_wire.c -- framing and parsing the PMI-1 wire protocol (see
    pmi_wire.h).  Nothing here trusts a length: the framer holds at most
    PMI_REQ_MAX bytes and refuses a request that does not end within them,
    and the parser works on its own copy, bounded the same way. */
#include "pmi_wire.h"
#include "err.h"

#include <string.h>

/* ---- parsing ----------------------------------------------------------------- */

bool pmi_word_ok (const char *w, size_t len, size_t max)
{
    if (len == 0 || len > max)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = w[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

const char *pmi_cmd_word (const char *name)
{
    return name && pmi_word_ok (name, strlen (name), PMI_WORD_MAX) ? name : "?";
}

/* "key=value" at tok (NUL-terminated) as the next attribute. */
static int add_attr (pmi_cmd_t *cmd, char *tok, const char **why)
{
    char *eq = strchr (tok, '=');
    if (!eq)
        return gl_why (why, "an attribute without '='");
    *eq = '\0';
    if (!pmi_word_ok (tok, (size_t) (eq - tok), PMI_WORD_MAX))
        return gl_why (why, "an attribute key that is empty, too long or not [A-Za-z0-9_-]");
    if (!strcmp (tok, "cmd") || !strcmp (tok, "mcmd"))
        return gl_why (why, "a second command name");
    for (uint32_t i = 0; i < cmd->n; i++)
        if (!strcmp (cmd->attr[i].key, tok))
            return gl_why (why, "an attribute key given twice");
    if (cmd->n == PMI_ATTRS_MAX)
        return gl_why (why, "more than 128 attributes");
    cmd->attr[cmd->n].key = tok;
    cmd->attr[cmd->n].val = eq + 1;
    cmd->n++;
    return 0;
}

/* The first token, "cmd=NAME" or "mcmd=NAME", ends at sep (or the end). */
static int take_name (pmi_cmd_t *cmd, char *tok, size_t skip, const char **why)
{
    cmd->name = tok + skip;
    if (!pmi_word_ok (cmd->name, strlen (cmd->name), PMI_WORD_MAX))
        return gl_why (why, "a command name that is empty, too long or not [A-Za-z0-9_-]");
    return 0;
}

static int parse_line (pmi_cmd_t *cmd, char *p, const char **why)
{
    if (strchr (p, '\n'))
        return gl_why (why, "a newline inside a one-line request");
    bool first = true;
    while (*p) {
        if (*p == ' ') {
            p++;
            continue;
        }
        char *tok = p;
        p += strcspn (p, " ");
        if (*p)
            *p++ = '\0';
        if (first ? take_name (cmd, tok, 4, why) : add_attr (cmd, tok, why))
            return -1;
        first = false;
    }
    return 0;
}

static int parse_block (pmi_cmd_t *cmd, char *p, const char **why)
{
    bool first = true, ended = false;
    while (*p) {
        if (ended)
            return gl_why (why, "lines after endcmd");
        char *line = p;
        p += strcspn (p, "\n");
        if (*p)
            *p++ = '\0';
        if (first) {
            if (take_name (cmd, line, 5, why))
                return -1;
            first = false;
        }
        else if (!strcmp (line, "endcmd"))
            ended = true;
        else if (add_attr (cmd, line, why))
            return -1;
    }
    return ended ? 0 : gl_why (why, "a multi-line request without endcmd");
}

int pmi_cmd_parse (const char *req, size_t len, pmi_cmd_t *cmd, const char **why)
{
    cmd->name = NULL;
    cmd->n = 0;
    cmd->multi = false;
    if (len >= PMI_REQ_MAX)
        return gl_why (why, "a request longer than 4096 bytes");
    if (memchr (req, '\0', len))
        return gl_why (why, "a NUL byte in a request");
    memcpy (cmd->buf, req, len);
    cmd->buf[len] = '\0';
    if (!strncmp (cmd->buf, "cmd=", 4))
        return parse_line (cmd, cmd->buf, why);
    if (!strncmp (cmd->buf, "mcmd=", 5)) {
        cmd->multi = true;
        return parse_block (cmd, cmd->buf, why);
    }
    return gl_why (why, "not a PMI-1 request (expected cmd= or mcmd=)");
}

const char *pmi_cmd_get (const pmi_cmd_t *cmd, const char *key)
{
    for (uint32_t i = 0; i < cmd->n; i++)
        if (!strcmp (cmd->attr[i].key, key))
            return cmd->attr[i].val;
    return NULL;
}

/* ---- framing ----------------------------------------------------------------- */

void pmi_reader_init (pmi_reader_t *r)
{
    memset (r, 0, sizeof *r);
}

static void reader_compact (pmi_reader_t *r)
{
    if (!r->used)
        return;
    memmove (r->buf, r->buf + r->used, r->len - r->used);
    r->len -= r->used;
    r->used = 0;
}

char *pmi_reader_space (pmi_reader_t *r, size_t *room)
{
    reader_compact (r);
    *room = r->broken ? 0 : sizeof r->buf - r->len;
    return r->buf + r->len;
}

void pmi_reader_wrote (pmi_reader_t *r, size_t n)
{
    r->len += n <= sizeof r->buf - r->len ? n : sizeof r->buf - r->len;
}

static int reader_refuse (pmi_reader_t *r, const char *reason, const char **why)
{
    r->broken = reason;
    return gl_why (why, reason);
}

/* Does the held data start with what p starts?  1 yes, 0 not yet known
   (fewer bytes than p), -1 no. */
static int starts (const pmi_reader_t *r, const char *p)
{
    size_t n = strlen (p);
    size_t have = r->len < n ? r->len : n;
    if (memcmp (r->buf, p, have))
        return -1;
    return have == n ? 1 : 0;
}

/* PMI-2 frames a request as 6 characters of length (digits, padded with
   spaces), then the command. */
static int pmi2_frame (const pmi_reader_t *r)
{
    size_t i;
    for (i = 0; i < r->len && i < 6; i++)
        if (r->buf[i] != ' ' && (r->buf[i] < '0' || r->buf[i] > '9'))
            return -1;
    return i == 6 ? 1 : 0;
}

int pmi_reader_next (pmi_reader_t *r, const char **req, size_t *len, const char **why)
{
    if (r->broken)
        return gl_why (why, r->broken);
    reader_compact (r);
    if (r->len == 0)
        return 0;
    int one = starts (r, "cmd="), multi = starts (r, "mcmd=");
    if (one < 0 && multi < 0) {
        int pmi2 = pmi2_frame (r);
        if (pmi2 == 0)
            return 0;
        return reader_refuse (r,
                              pmi2 > 0 ? "a PMI-2 request (length-prefixed): glunix serves PMI-1"
                                       : "not a PMI-1 request (expected cmd= or mcmd=)",
                              why);
    }
    if (one == 0 || multi == 0)
        return 0; /* too few bytes to tell yet */
    const char *end = NULL;
    if (one > 0)
        end = memchr (r->buf, '\n', r->len);
    else /* a block ends with its line "endcmd" */
        for (size_t at = 0; at < r->len;) {
            const char *nl = memchr (r->buf + at, '\n', r->len - at);
            if (!nl)
                break;
            if ((size_t) (nl - (r->buf + at)) == 6 && !memcmp (r->buf + at, "endcmd", 6)) {
                end = nl;
                break;
            }
            at = (size_t) (nl - r->buf) + 1;
        }
    /* A NUL refuses the request it is in, once that request is the next
       one: looking further would refuse whole requests before it, or
       name another fault than the first, as the bytes happen to come. */
    if (memchr (r->buf, '\0', end ? (size_t) (end - r->buf) : r->len))
        return reader_refuse (r, "a NUL byte in a request", why);
    if (!end) {
        if (r->len == sizeof r->buf)
            return reader_refuse (r, "a request longer than 4096 bytes", why);
        return 0;
    }
    *req = r->buf;
    *len = (size_t) (end - r->buf);
    r->used = *len + 1;
    return 1;
}
