/*  pmi_wire.h -- the PMI-1 wire protocol MPICH's processes speak to their
    launcher, sans-I/O: a byte stream framed into requests, a request
    parsed into its command and attributes.  Neither reads nor writes a
    descriptor: the host feeds the reader what a rank wrote on its PMI_FD
    (pmi_host.c) and relays each whole request to the job's home, which
    parses it again and answers (pmi_kvs.h).

    A request is one line,

        cmd=NAME key=value key=value ...\n

    whose values hold no space (MPICH hex-encodes what it puts), or, for
    the one multi-line command MPICH has (spawn), a block of lines whose
    values may hold spaces:

        mcmd=spawn\n key=value\n ... endcmd\n

    MPICH 4.0's simple PMI client (Debian 12's libmpich) speaks PMI 1.1
    this way.  A PMI-2 client frames its requests differently (a 6-digit
    length, then "cmd=...;key=value;"), but only after an init that asks
    for version 2, which the home refuses (pmi_kvs.h); the reader names
    that framing when it sees it.

    Careful parsing: a request is refused as a whole, with the reason, for
    a NUL byte, more than PMI_REQ_MAX bytes, a first line that starts
    with neither cmd= nor mcmd=, an attribute without '=', a command name
    or attribute key that is empty, longer than PMI_WORD_MAX or outside
    [A-Za-z0-9_-], a key given twice, more than PMI_ATTRS_MAX attributes,
    or a block without its endcmd.  Once the reader has refused a stream
    it stays refused: nothing after a broken request can be trusted to
    start where a request starts. */
#ifndef GL_PMI_WIRE_H
#define GL_PMI_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PMI_REQ_MAX   4096 /* bytes of one request, its newlines included */
#define PMI_ATTRS_MAX 128  /* attributes of one request */
#define PMI_WORD_MAX  63   /* command names and attribute keys */

typedef struct {
    const char *key; /* [A-Za-z0-9_-], 1..PMI_WORD_MAX */
    const char *val; /* any bytes but NUL, newline and (one-line) space */
} pmi_attr_t;

typedef struct {
    const char *name; /* "init", "put", "spawn", ... */
    bool multi;       /* an mcmd= block */
    uint32_t n;
    pmi_attr_t attr[PMI_ATTRS_MAX];
    char buf[PMI_REQ_MAX + 1]; /* what name, key and val point into */
} pmi_cmd_t;

/* Parse req (len bytes, without its final newline) into cmd.  0, or -1
   with *why set to a constant reason. */
int pmi_cmd_parse (const char *req, size_t len, pmi_cmd_t *cmd, const char **why);

/* True when the len bytes at w are 1 to max of [A-Za-z0-9_-]: a command
   name or key (max PMI_WORD_MAX), or a kvsname (pmi_kvs.h). */
bool pmi_word_ok (const char *w, size_t len, size_t max);

/* The value of key, or NULL when the request has none. */
const char *pmi_cmd_get (const pmi_cmd_t *cmd, const char *key);

/* A command name fit to print: name when it is one (parsed commands'
   names are), else "?". */
const char *pmi_cmd_word (const char *name);

/* The framer: bytes in, whole requests out. */
typedef struct {
    char buf[PMI_REQ_MAX];
    size_t len;  /* bytes held */
    size_t used; /* of them, the request pmi_reader_next handed out last */
    const char *broken;
} pmi_reader_t;

void pmi_reader_init (pmi_reader_t *r);

/* Where the next bytes go and how many fit (*room, 0 when a whole
   request or a refusal is waiting for pmi_reader_next); then
   pmi_reader_wrote says how many came. */
char *pmi_reader_space (pmi_reader_t *r, size_t *room);
void pmi_reader_wrote (pmi_reader_t *r, size_t n);

/* The next whole request: 1 with *req and *len (without the final
   newline; valid until the next call), 0 when none is whole yet, -1
   with *why when the stream is refused (for good). */
int pmi_reader_next (pmi_reader_t *r, const char **req, size_t *len, const char **why);

#endif
