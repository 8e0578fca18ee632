/*  switch.c -- switch statements (compare trees: no jump tables in a
    module), a small interpreter with a state machine. */
#include "glsfi.h"

static long classify (long c)
{
    switch (c) {
        case 0: return 17;
        case 1: return 4;
        case 2: return -3;
        case 3: return 99;
        case 4: return 5;
        case 5: return 1 << 10;
        case 6: return 7;
        case 7: return -77;
        case 10: return 12;
        case 11: return 13;
        case 20: return 21;
        case 100: return 1000;
        case 101: return 1001;
        default: return c * 2;
    }
}

//@ cases 200
GLSFI_EXPORT long cases (long n)
{
    long s = 0;
    for (long i = -5; i < n; i++)
        s = s * 3 + classify (i % 128);
    return s;
}

enum { PUSH, ADD, MUL, DUP, SWAP, DROP, JNZ, DEC, HALT };

/* A stack machine running a small program n times, with a changing
   constant in it. */
//@ interp 1000
GLSFI_EXPORT long interp (long n)
{
    static const long prog[] = { PUSH, 0,             /* 0 */
                                 PUSH, 0,             /* 0 k: k goes here */
                                 DUP,  DUP,  MUL,     /* 0 k k*k */
                                 SWAP,                /* 0 k*k k */
                                 DEC,  DROP,          /* 0 k*k */
                                 ADD,                 /* k*k */
                                 PUSH, 0,    JNZ, 99, /* not taken */
                                 HALT };
    long code[64];
    memcpy (code, prog, sizeof prog);
    code[3] = n;
    long stack[64];
    int sp = 0;
    long pc = 0, steps = 0, total = 0;
    for (;;) {
        steps++;
        switch (code[pc++]) {
            case PUSH: stack[sp++] = code[pc++]; break;
            case ADD:
                sp--;
                stack[sp - 1] += stack[sp];
                break;
            case MUL:
                sp--;
                stack[sp - 1] *= stack[sp];
                break;
            case DUP:
                stack[sp] = stack[sp - 1];
                sp++;
                break;
            case SWAP: {
                long t = stack[sp - 1];
                stack[sp - 1] = stack[sp - 2];
                stack[sp - 2] = t;
            } break;
            case DROP: sp--; break;
            case DEC: stack[sp - 1]--; break;
            case JNZ: pc = stack[--sp] ? code[pc] : pc + 1; break;
            case HALT:
                total += stack[sp - 1] + steps;
                if (--n <= 0)
                    return total;
                sp = 0;
                pc = 0;
                code[3] = n;
                break;
            default: return -1;
        }
    }
}

//@ lexer s:x=12+foo*(3-y2)/7;if(x>=4)z=0x1f;
GLSFI_EXPORT long lexer (const char *s)
{
    enum { START, IDENT, NUMBER, OP } state = START;
    long idents = 0, numbers = 0, ops = 0, h = 0;
    for (const char *p = s;; p++) {
        char c = *p;
        int cls = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ? 1
                  : (c >= '0' && c <= '9')                                     ? 2
                  : c == 0                                                     ? 0
                                                                               : 3;
        switch (state) {
            case IDENT:
                if (cls == 1 || cls == 2)
                    continue;
                idents++;
                break;
            case NUMBER:
                if (cls == 2 || cls == 1)
                    continue;
                numbers++;
                break;
            case OP: ops++; break;
            case START: break;
        }
        switch (cls) {
            case 0: return idents * 10000 + numbers * 100 + ops + h * 1000000;
            case 1: state = IDENT; break;
            case 2: state = NUMBER; break;
            default:
                state = OP;
                h = (h * 7 + c) % 1000;
                break;
        }
    }
}
