/*
 * AFD poll for the Windows backend (sys/windows.c), the way wepoll and
 * mio's src/sys/windows/afd.rs reach it: a helper handle on the Winsock
 * driver (\Device\Afd), associated with the selector's completion port, on
 * which IOCTL_AFD_POLL is submitted for one base socket at a time and
 * completes through the port with the AFD_POLL_* bits that hold. The ntdll
 * entry points (NtCreateFile, NtDeviceIoControlFile, NtCancelIoFileEx,
 * RtlNtStatusToDosError) are looked up at run time, once per process: they
 * are not all in mingw-w64's headers (NtCancelIoFileEx is not), and a
 * lookup keeps the library's link line to what Winsock needs (ws2_32)
 * whatever the mingw-w64 version. Not installed; Windows only.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CMIO_SYS_AFD_H
#define CMIO_SYS_AFD_H

#include "cmio.h"

#include <winsock2.h>
#include <windows.h>
#include <winternl.h>

/* The AFD_POLL_* bits (the header's CMIO__AFD_POLL_*, which the event
 * accessors decode). */
#define AFD_POLL_RECEIVE CMIO__AFD_POLL_RECEIVE
#define AFD_POLL_RECEIVE_EXPEDITED CMIO__AFD_POLL_RECEIVE_EXPEDITED
#define AFD_POLL_SEND CMIO__AFD_POLL_SEND
#define AFD_POLL_DISCONNECT CMIO__AFD_POLL_DISCONNECT
#define AFD_POLL_ABORT CMIO__AFD_POLL_ABORT
#define AFD_POLL_LOCAL_CLOSE CMIO__AFD_POLL_LOCAL_CLOSE
#define AFD_POLL_CONNECT CMIO__AFD_POLL_CONNECT
#define AFD_POLL_ACCEPT CMIO__AFD_POLL_ACCEPT
#define AFD_POLL_CONNECT_FAIL CMIO__AFD_POLL_CONNECT_FAIL

/* NTSTATUS values we compare with (ntstatus.h clashes with winnt.h). */
#define CMIO__STATUS_SUCCESS ((NTSTATUS)0x00000000L)
#define CMIO__STATUS_PENDING ((NTSTATUS)0x00000103L)
#define CMIO__STATUS_CANCELLED ((NTSTATUS)0xC0000120L)
#define CMIO__STATUS_NOT_FOUND ((NTSTATUS)0xC0000225L)

/* IOCTL_AFD_POLL's input and output (one buffer, both ways). */
typedef struct cmio__afd_poll_handle {
    HANDLE handle;  /* the base socket */
    ULONG events;   /* in: AFD_POLL_* asked; out: those that hold */
    NTSTATUS status;
} cmio__afd_poll_handle;

typedef struct cmio__afd_poll_info {
    LARGE_INTEGER timeout;    /* INT64_MAX: no timeout */
    ULONG number_of_handles;  /* 1 in; 0 out when nothing was reported */
    ULONG exclusive;          /* 0 */
    cmio__afd_poll_handle handles[1];
} cmio__afd_poll_info;

/* Open an AFD helper handle and associate it with `port` under `key`, with
 * FILE_SKIP_SET_EVENT_ON_HANDLE. 0 or a negative errno. */
int cmio__afd_open(HANDLE port, ULONG_PTR key, HANDLE *out);

/* Submit IOCTL_AFD_POLL on afd for info (its handles[0] filled in). The
 * completion comes through the port with `context` as its lpOverlapped and
 * iosb->Status as its result, also when the poll completes at once; info
 * and iosb must stay put until then. Returns 0 (submitted), -EBADF when the
 * socket is no longer valid, or another negative errno (nothing submitted,
 * no completion will come). */
int cmio__afd_poll(HANDLE afd, cmio__afd_poll_info *info, IO_STATUS_BLOCK *iosb, void *context);

/* Ask that the poll of iosb completes now (with STATUS_CANCELLED, unless it
 * completed meanwhile). Its completion still comes through the port. */
void cmio__afd_cancel(HANDLE afd, IO_STATUS_BLOCK *iosb);

/* The base service provider's socket under s (SIO_BASE_HANDLE, with
 * wepoll's and mio's fallbacks for layered providers that answer it
 * wrongly). 0, -EBADF if s is not a socket, or another negative errno. */
int cmio__afd_base_socket(SOCKET s, SOCKET *out);

/* Whether s is a socket: 0 or -EBADF. */
int cmio__afd_socket_valid(SOCKET s);

/* A Win32 error (GetLastError, WSAGetLastError) as a negative errno, for
 * the errors the selector can meet. */
int cmio__afd_win_errno(DWORD err);

#endif /* CMIO_SYS_AFD_H */
