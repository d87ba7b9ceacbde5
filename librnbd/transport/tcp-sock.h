/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Socket plumbing for the TCP transport: non-blocking listen/connect with
 * the options rtrs-tcp.md section 11 asks for. */
#ifndef RNBD_TRANSPORT_TCP_SOCK_H
#define RNBD_TRANSPORT_TCP_SOCK_H

#include <stdint.h>
#include <sys/socket.h>

/* Listening socket, SO_REUSEADDR, dual stack for [::], backlog 64. */
int tcp_sock_listen(const struct sockaddr *addr, socklen_t len, int sndbuf, int rcvbuf);

/*
 * Start a non-blocking connect from src (may be NULL) to dst.  Returns the
 * fd; *in_progress tells whether to wait for writability.
 */
int tcp_sock_connect(const struct sockaddr *src, const struct sockaddr *dst, socklen_t len,
		     int sndbuf, int rcvbuf, int *in_progress);

/* TCP_NODELAY and TCP_USER_TIMEOUT on a connected socket. */
void tcp_sock_tune(int fd, uint32_t user_timeout_ms);

/* Pending error of a connecting socket (0 or negative errno). */
int tcp_sock_error(int fd);

/* "1.2.3.4:1234" / "[::1]:1234" */
const char *tcp_sock_str(const struct sockaddr *sa, char *buf, size_t len);

#endif
