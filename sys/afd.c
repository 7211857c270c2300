/*
 * AFD poll (sys/afd.h): the helper handle, IOCTL_AFD_POLL, its
 * cancellation and the base socket, for the Windows backend.
 *
 * SPDX-License-Identifier: MIT
 */
#include "afd.h"

#include <errno.h>
#include <mswsock.h>
#include <stdint.h>
#include <string.h>

#define IOCTL_AFD_POLL 0x00012024UL

typedef NTSTATUS(NTAPI *nt_create_file_fn)(PHANDLE, ACCESS_MASK, POBJECT_ATTRIBUTES, PIO_STATUS_BLOCK,
                                           PLARGE_INTEGER, ULONG, ULONG, ULONG, ULONG, PVOID, ULONG);
typedef NTSTATUS(NTAPI *nt_device_io_control_file_fn)(HANDLE, HANDLE, PIO_APC_ROUTINE, PVOID, PIO_STATUS_BLOCK,
                                                      ULONG, PVOID, ULONG, PVOID, ULONG);
typedef NTSTATUS(NTAPI *nt_cancel_io_file_ex_fn)(HANDLE, PIO_STATUS_BLOCK, PIO_STATUS_BLOCK);
typedef ULONG(NTAPI *rtl_nt_status_to_dos_error_fn)(NTSTATUS);

static struct {
    nt_create_file_fn create_file;
    nt_device_io_control_file_fn device_io_control_file;
    nt_cancel_io_file_ex_fn cancel_io_file_ex;
    rtl_nt_status_to_dos_error_fn status_to_dos_error;
} nt;
static INIT_ONCE nt_once = INIT_ONCE_STATIC_INIT;

/* GetProcAddress returns FARPROC; going through void * says that the cast
 * to the real type is meant (-Wcast-function-type). */
static void *proc(HMODULE m, const char *name)
{
    FARPROC f = GetProcAddress(m, name);
    void *p;
    _Static_assert(sizeof(p) == sizeof(f), "function and data pointers differ");
    memcpy(&p, &f, sizeof(p));
    return p;
}

static BOOL CALLBACK nt_load(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    (void)once;
    (void)param;
    (void)ctx;
    HMODULE m = GetModuleHandleW(L"ntdll.dll"); /* always mapped */
    if (!m)
        return FALSE;
    void *a = proc(m, "NtCreateFile"), *b = proc(m, "NtDeviceIoControlFile"), *c = proc(m, "NtCancelIoFileEx"),
         *d = proc(m, "RtlNtStatusToDosError");
    if (!a || !b || !c || !d)
        return FALSE;
    memcpy(&nt.create_file, &a, sizeof(a));
    memcpy(&nt.device_io_control_file, &b, sizeof(b));
    memcpy(&nt.cancel_io_file_ex, &c, sizeof(c));
    memcpy(&nt.status_to_dos_error, &d, sizeof(d));
    return TRUE;
}

int cmio__afd_win_errno(DWORD err)
{
    switch (err) {
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_NO_SYSTEM_RESOURCES:
    case WSAENOBUFS:
        return -ENOMEM;
    case ERROR_INVALID_HANDLE:
    case WSAENOTSOCK:
        return -EBADF;
    case ERROR_ACCESS_DENIED:
    case WSAEACCES:
        return -EACCES;
    case ERROR_TOO_MANY_OPEN_FILES:
    case WSAEMFILE:
        return -EMFILE;
    case ERROR_INVALID_PARAMETER:
    case WSAEINVAL:
    case WSAEFAULT:
        return -EINVAL;
    case ERROR_NOT_SUPPORTED:
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case WSAEOPNOTSUPP:
        return -ENOTSUP;
    case WSANOTINITIALISED:
    case WSAENETDOWN:
        return -ENETDOWN;
    default:
        return -EIO;
    }
}

static int nt_errno(NTSTATUS status) { return cmio__afd_win_errno(nt.status_to_dos_error(status)); }

int cmio__afd_open(HANDLE port, ULONG_PTR key, HANDLE *out)
{
    if (!InitOnceExecuteOnce(&nt_once, nt_load, NULL, NULL))
        return -ENOTSUP;
    /* Any name under \Device\Afd opens the driver; the part after it only
     * names the opener (wepoll's "\Device\Afd\Wepoll", mio's "Mio"). */
    static const WCHAR name[] = L"\\Device\\Afd\\cmio";
    UNICODE_STRING uname = {
        .Length = (USHORT)(sizeof(name) - sizeof(WCHAR)),
        .MaximumLength = (USHORT)sizeof(name),
        .Buffer = (PWSTR)name,
    };
    OBJECT_ATTRIBUTES attr = {.Length = sizeof(attr), .ObjectName = &uname};
    IO_STATUS_BLOCK iosb = {0};
    HANDLE h = INVALID_HANDLE_VALUE;
    NTSTATUS st = nt.create_file(&h, SYNCHRONIZE, &attr, &iosb, NULL, 0, FILE_SHARE_READ | FILE_SHARE_WRITE,
                                 FILE_OPEN, 0, NULL, 0);
    if (st != CMIO__STATUS_SUCCESS)
        return nt_errno(st);
    if (CreateIoCompletionPort(h, port, key, 0) == NULL ||
        !SetFileCompletionNotificationModes(h, FILE_SKIP_SET_EVENT_ON_HANDLE)) {
        int err = cmio__afd_win_errno(GetLastError());
        CloseHandle(h);
        return err;
    }
    *out = h;
    return 0;
}

int cmio__afd_poll(HANDLE afd, cmio__afd_poll_info *info, IO_STATUS_BLOCK *iosb, void *context)
{
    iosb->Status = CMIO__STATUS_PENDING;
    NTSTATUS st = nt.device_io_control_file(afd, NULL, NULL, context, iosb, IOCTL_AFD_POLL, info, sizeof(*info),
                                            info, sizeof(*info));
    if (st == CMIO__STATUS_SUCCESS || st == CMIO__STATUS_PENDING)
        return 0; /* either way, the completion comes through the port */
    iosb->Status = st;
    return nt_errno(st);
}

void cmio__afd_cancel(HANDLE afd, IO_STATUS_BLOCK *iosb)
{
    if (iosb->Status != CMIO__STATUS_PENDING)
        return; /* completed: its packet is on its way */
    IO_STATUS_BLOCK cancel = {0};
    /* STATUS_NOT_FOUND: it completed meanwhile. Either way one completion
     * comes; there is nothing else to do about a failure. */
    (void)nt.cancel_io_file_ex(afd, iosb, &cancel);
}

static int base_ioctl(SOCKET s, DWORD code, SOCKET *out)
{
    SOCKET base = INVALID_SOCKET;
    DWORD bytes = 0;
    if (WSAIoctl(s, code, NULL, 0, &base, sizeof(base), &bytes, NULL, NULL) == SOCKET_ERROR)
        return cmio__afd_win_errno((DWORD)WSAGetLastError());
    *out = base;
    return 0;
}

int cmio__afd_base_socket(SOCKET s, SOCKET *out)
{
    int err = base_ioctl(s, SIO_BASE_HANDLE, out);
    if (err == 0 || err == -EBADF)
        return err;
    /* SIO_BASE_HANDLE is not to be intercepted by layered providers, but
     * some do. Ask what they answer for select and poll, then the plain
     * BSP handle; coming from such a provider, only an answer that differs
     * from s itself is one. */
    static const DWORD fallbacks[] = {SIO_BSP_HANDLE_SELECT, SIO_BSP_HANDLE_POLL, SIO_BSP_HANDLE};
    for (size_t i = 0; i < sizeof(fallbacks) / sizeof(fallbacks[0]); i++) {
        SOCKET base;
        if (base_ioctl(s, fallbacks[i], &base) == 0 && base != s) {
            *out = base;
            return 0;
        }
    }
    return err;
}

int cmio__afd_socket_valid(SOCKET s)
{
    int type = 0, len = sizeof(type);
    if (getsockopt(s, SOL_SOCKET, SO_TYPE, (char *)&type, &len) == SOCKET_ERROR)
        return WSAGetLastError() == WSAENOTSOCK ? -EBADF : 0;
    return 0;
}
