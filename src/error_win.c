/*
 * Windows: the one table from Winsock (WSA*) and Win32 error codes to the
 * negative errno values include/cmio.h documents, and Winsock's start-up.
 * Every error net/ and src/ return on Windows goes through
 * cmio__wsa_error() (sys/fd.h's cmio__errno() reads WSAGetLastError() into
 * it). mingw's <errno.h> has the POSIX supplement constants (ECONNRESET,
 * EWOULDBLOCK, ...) this table maps to.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

#include "../sys/fd.h"
#include "os.h"

#include <errno.h>
#include <stdlib.h>

static const struct {
    int code;
    int err;
} table[] = {
    /* Winsock */
    {WSAEWOULDBLOCK, EAGAIN},
    {WSAEINPROGRESS, EINPROGRESS},
    {WSAEALREADY, EALREADY},
    {WSAEINTR, EINTR},
    {WSAEBADF, EBADF},
    {WSAENOTSOCK, EBADF}, /* not a socket: cmio's "not an open descriptor" */
    {WSAEACCES, EACCES},
    {WSAEFAULT, EFAULT},
    {WSAEINVAL, EINVAL},
    {WSAEMFILE, EMFILE},
    {WSAEDESTADDRREQ, EDESTADDRREQ},
    {WSAEMSGSIZE, EMSGSIZE},
    {WSAEPROTOTYPE, EPROTOTYPE},
    {WSAENOPROTOOPT, ENOPROTOOPT},
    {WSAEPROTONOSUPPORT, EPROTONOSUPPORT},
    {WSAESOCKTNOSUPPORT, EPROTONOSUPPORT},
    {WSAEOPNOTSUPP, EOPNOTSUPP},
    {WSAEPFNOSUPPORT, EAFNOSUPPORT},
    {WSAEAFNOSUPPORT, EAFNOSUPPORT},
    {WSAEADDRINUSE, EADDRINUSE},
    {WSAEADDRNOTAVAIL, EADDRNOTAVAIL},
    {WSAENETDOWN, ENETDOWN},
    {WSAENETUNREACH, ENETUNREACH},
    {WSAENETRESET, ENETRESET},
    {WSAECONNABORTED, ECONNABORTED},
    {WSAECONNRESET, ECONNRESET},
    {WSAENOBUFS, ENOBUFS},
    {WSAEISCONN, EISCONN},
    {WSAENOTCONN, ENOTCONN},
    {WSAESHUTDOWN, EPIPE}, /* a send after shutdown(SD_SEND): POSIX's EPIPE */
    {WSAETIMEDOUT, ETIMEDOUT},
    {WSAECONNREFUSED, ECONNREFUSED},
    {WSAELOOP, ELOOP},
    {WSAENAMETOOLONG, ENAMETOOLONG},
    {WSAEHOSTDOWN, EHOSTUNREACH},
    {WSAEHOSTUNREACH, EHOSTUNREACH},
    {WSASYSNOTREADY, ENETDOWN},
    {WSAVERNOTSUPPORTED, ENOTSUP},
    {WSANOTINITIALISED, EINVAL},
    {WSA_NOT_ENOUGH_MEMORY, ENOMEM},
    {WSA_INVALID_HANDLE, EBADF},
    {WSA_INVALID_PARAMETER, EINVAL},
    {WSA_OPERATION_ABORTED, ECANCELED},
    {WSA_IO_PENDING, EAGAIN},
    /* Win32 (GetLastError) */
    {ERROR_INVALID_HANDLE, EBADF},
    {ERROR_NOT_ENOUGH_MEMORY, ENOMEM},
    {ERROR_OUTOFMEMORY, ENOMEM},
    {ERROR_INVALID_PARAMETER, EINVAL},
    {ERROR_ACCESS_DENIED, EACCES},
    {ERROR_TOO_MANY_OPEN_FILES, EMFILE},
    {ERROR_NOT_SUPPORTED, ENOTSUP},
    {ERROR_OPERATION_ABORTED, ECANCELED},
    {ERROR_IO_PENDING, EAGAIN},
    {ERROR_NETNAME_DELETED, ECONNRESET},
    {ERROR_CONNECTION_REFUSED, ECONNREFUSED},
    {ERROR_CONNECTION_ABORTED, ECONNABORTED},
    {ERROR_PORT_UNREACHABLE, ECONNREFUSED},
    {ERROR_BROKEN_PIPE, EPIPE},
    /* Named pipes (net/named_pipe.c): a write to a pipe whose other end
     * is closing, or to an instance not connected; every instance busy
     * (a client's open: try again once one is free); no pipe of that
     * name. ERROR_IO_PENDING, ERROR_PIPE_LISTENING, ERROR_PIPE_CONNECTED
     * and ERROR_MORE_DATA are states the pipe's code handles itself. */
    {ERROR_NO_DATA, EPIPE},
    {ERROR_PIPE_NOT_CONNECTED, ENOTCONN},
    {ERROR_PIPE_BUSY, EBUSY},
    {ERROR_FILE_NOT_FOUND, ENOENT},
    {ERROR_PATH_NOT_FOUND, ENOENT},
    {ERROR_INVALID_NAME, EINVAL},
    {ERROR_BAD_PATHNAME, EINVAL},
    {ERROR_FILE_EXISTS, EEXIST},
    {ERROR_ALREADY_EXISTS, EEXIST},
    {ERROR_TIMEOUT, ETIMEDOUT},
    {WAIT_TIMEOUT, ETIMEDOUT},
};

int cmio__wsa_error(int code)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (table[i].code == code)
            return -table[i].err;
    return code == 0 ? 0 : -EIO; /* no errno says it better */
}

/* ---- WSAStartup, once ------------------------------------------------- */

static cmio__once wsa_once = CMIO__ONCE_INIT;
static int wsa_status;

static void wsa_start(void)
{
    WSADATA data;
    int rc = WSAStartup(MAKEWORD(2, 2), &data);
    /* Kept for the life of the process, as mio and libuv keep it: no
     * WSACleanup, since sockets may outlive any object of cmio's. */
    wsa_status = rc == 0 ? 0 : cmio__wsa_error(rc);
}

int cmio__wsa_init(void)
{
    cmio__once_run(&wsa_once, wsa_start);
    return wsa_status;
}

/* ---- messages for the POSIX supplement codes ---------------------------- */

/* The C runtime's strerror knows the C and classic POSIX codes only; the
 * socket ones (100 and up in mingw's <errno.h>) are named here. */
const char *cmio__win_strerror(int err)
{
    switch (err) {
    case EADDRINUSE: return "Address already in use";
    case EADDRNOTAVAIL: return "Cannot assign requested address";
    case EAFNOSUPPORT: return "Address family not supported by protocol";
    case EALREADY: return "Operation already in progress";
    case ECANCELED: return "Operation canceled";
    case ECONNABORTED: return "Software caused connection abort";
    case ECONNREFUSED: return "Connection refused";
    case ECONNRESET: return "Connection reset by peer";
    case EDESTADDRREQ: return "Destination address required";
    case EHOSTUNREACH: return "No route to host";
    case EINPROGRESS: return "Operation now in progress";
    case EISCONN: return "Transport endpoint is already connected";
    case ELOOP: return "Too many levels of symbolic links";
    case EMSGSIZE: return "Message too long";
    case ENETDOWN: return "Network is down";
    case ENETRESET: return "Network dropped connection on reset";
    case ENETUNREACH: return "Network is unreachable";
    case ENOBUFS: return "No buffer space available";
    case ENOPROTOOPT: return "Protocol not available";
    case ENOTCONN: return "Transport endpoint is not connected";
    case ENOTSOCK: return "Socket operation on non-socket";
    case ENOTSUP: return "Operation not supported";
    case EOPNOTSUPP: return "Operation not supported on socket";
    case EPROTONOSUPPORT: return "Protocol not supported";
    case EPROTOTYPE: return "Protocol wrong type for socket";
    case ETIMEDOUT: return "Connection timed out";
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK: return "Resource temporarily unavailable";
#endif
    default: return NULL;
    }
}
