/*
 * req_httpd.c - a minimal HTTP/1.1 server for the request-telemetry tests
 * and benchmark.
 *
 * One epoll thread.  Every request is answered after a fixed delay, in ONE
 * write (headers and body together: two writes would meet Nagle plus
 * delayed ACK on loopback and add ~40 ms at the client).  Paths starting
 * with /500 get status 500.  Keep-alive by default; a request carrying
 * "Connection: close" (or -c) is answered and the connection closed.
 * Pipelined requests are answered in order.  With -l FILE the server logs
 * its own service time per request at exit (SIGTERM/SIGINT), one line per
 * request: "READ ARRIVAL", both in ns up to the response's write.  READ
 * starts at the server's first read of the request; ARRIVAL starts when the
 * kernel received those bytes, from the socket's software receive timestamp
 * (SO_TIMESTAMPING), so it also holds the time the request waited in the
 * socket buffer for the server to be scheduled and read it.  ARRIVAL is 0
 * when the kernel gave no stamp.
 *
 * -r READ_DELAY_US sleeps that long before reading a connection that became
 * readable (the request waits in the socket buffer, unseen by the server's
 * own log: the time a kernel-side measurement must still count).
 *
 * usage: req_httpd [-p PORT] [-d DELAY_US] [-r READ_DELAY_US] [-l LOG] [-c] [-b BACKLOG]
 * Prints "port N" on stdout once listening.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <linux/net_tstamp.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE  32768
#define MAX_LOG	  (4u << 20)
#define MAX_EVENT 256

struct conn {
	int fd;
	int waiting;	   /* a response is scheduled */
	int dead;	   /* peer gone while waiting: free when dequeued */
	int close_after;   /* close once the response is written */
	int status;	   /* of the scheduled response */
	uint64_t t_first;  /* read time of the current request's first bytes */
	uint64_t t_arr;	   /* kernel receive time of those bytes (monotonic), 0 unknown */
	uint64_t t_recent; /* kernel receive time of the latest read's bytes */
	uint64_t deadline; /* when the scheduled response is due */
	size_t len;
	char *buf; /* allocated on the first bytes: idle connections cost no buffer */
	struct conn *next_due;
};

static uint64_t opt_delay_ns = 2000000;
static uint64_t opt_read_delay_ns;
static int opt_close;
static volatile sig_atomic_t stop;
static uint64_t (*svc_log)[2]; /* READ, ARRIVAL */
static size_t svc_n;
static struct conn *due_head, *due_tail; /* FIFO: equal delays keep deadlines ordered */
static char listen_mark; /* epoll tag of the listening socket */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

/* Ask for software receive timestamps on fd (only when logging). */
static void want_rx_stamps(int fd)
{
	int flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;

	if (svc_log)
		setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags));
}

/*
 * The kernel's receive time of the bytes msg returned, on the monotonic
 * clock (the stamp is CLOCK_REALTIME: its age is taken from the real-time
 * clock and subtracted from the monotonic now); 0 when there is none.
 */
static uint64_t rx_arrival(struct msghdr *msg, uint64_t mono_now)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		struct timespec st[3], real;
		uint64_t stamp, age;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SO_TIMESTAMPING ||
		    cm->cmsg_len < CMSG_LEN(sizeof(st)))
			continue;
		memcpy(st, CMSG_DATA(cm), sizeof(st));
		stamp = ts_ns(&st[0]);
		clock_gettime(CLOCK_REALTIME, &real);
		if (!stamp || stamp > ts_ns(&real))
			return 0;
		age = ts_ns(&real) - stamp;
		return age < mono_now ? mono_now - age : 0;
	}
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void conn_free(struct conn *c)
{
	close(c->fd);
	free(c->buf);
	free(c);
}

/* Schedule the response to the request just parsed. */
static void schedule(struct conn *c, int status, int close_after)
{
	c->waiting = 1;
	c->status = status;
	c->close_after = close_after || opt_close;
	c->deadline = now_ns() + opt_delay_ns;
	c->next_due = NULL;
	if (due_tail)
		due_tail->next_due = c;
	else
		due_head = c;
	due_tail = c;
}

/* Length of the complete request at the head of c->buf, 0 if incomplete. */
static size_t request_len(struct conn *c, int *status, int *close_after)
{
	char *end, *cl;
	size_t hdr, body = 0;

	end = memmem(c->buf, c->len, "\r\n\r\n", 4);
	if (!end)
		return 0;
	hdr = (size_t)(end - c->buf) + 4;
	*end = 0; /* header block as a string; restored below */
	*status = strncmp(c->buf, "GET ", 4) && strncmp(c->buf, "POST ", 5) &&
			  strncmp(c->buf, "HEAD ", 5) ? 400 : 200;
	if (*status == 200 && strstr(c->buf, " /500"))
		*status = 500;
	*close_after = strcasestr(c->buf, "\nConnection: close") != NULL;
	cl = strcasestr(c->buf, "\nContent-Length:");
	if (cl)
		body = strtoul(cl + 16, NULL, 10);
	*end = '\r';
	if (body > BUF_SIZE || hdr + body > c->len)
		return body > BUF_SIZE ? hdr : 0;
	return hdr + body;
}

/* Parse one buffered request, if complete, and schedule its response. */
static void try_parse(struct conn *c)
{
	int status = 0, close_after = 0;
	size_t n;

	if (c->waiting || !c->len)
		return;
	n = request_len(c, &status, &close_after);
	if (!n) {
		if (c->len == BUF_SIZE) /* headers too long */
			schedule(c, 431, 1);
		return;
	}
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
	schedule(c, status, close_after);
}

/* Read what is available; returns -1 when the connection is finished. */
static int on_readable(struct conn *c)
{
	for (;;) {
		char ctl[CMSG_SPACE(3 * sizeof(struct timespec))];
		struct iovec iov;
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		uint64_t t;
		ssize_t r;

		if (!c->buf && !(c->buf = malloc(BUF_SIZE)))
			return -1;
		if (c->len == BUF_SIZE)
			return 0;
		iov.iov_base = c->buf + c->len;
		iov.iov_len = BUF_SIZE - c->len;
		if (svc_log) {
			msg.msg_control = ctl;
			msg.msg_controllen = sizeof(ctl);
		}
		r = recvmsg(c->fd, &msg, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return 0;
		if (r <= 0)
			return -1;
		t = now_ns();
		c->t_recent = svc_log ? rx_arrival(&msg, t) : 0;
		if (!c->len && !c->waiting) {
			c->t_first = t;
			c->t_arr = c->t_recent;
		}
		c->len += (size_t)r;
		try_parse(c);
	}
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 431: return "Request Header Fields Too Large";
	default: return "Internal Server Error";
	}
}

/* Write the scheduled response in one write; -1 when the connection ends. */
static int respond(struct conn *c)
{
	char out[256];
	const char *body = c->status == 200 ? "hello\n" : "error\n";
	int n;

	n = snprintf(out, sizeof(out),
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n%s",
		     c->status, reason(c->status), strlen(body),
		     c->close_after ? "Connection: close\r\n" : "", body);
	if (send(c->fd, out, (size_t)n, MSG_NOSIGNAL) != n)
		return -1;
	if (svc_n < MAX_LOG && svc_log) {
		uint64_t t = now_ns();

		svc_log[svc_n][0] = t - c->t_first;
		svc_log[svc_n++][1] = c->t_arr && c->t_arr <= t ? t - c->t_arr : 0;
	}
	c->waiting = 0;
	if (c->close_after)
		return -1;
	/* pipelined bytes already buffered: read now, received with the latest read */
	c->t_first = now_ns();
	c->t_arr = c->t_recent;
	try_parse(c);
	return 0;
}

/* Answer every due response; returns the ns until the next one, or -1. */
static int64_t run_due(void)
{
	uint64_t t = now_ns();

	while (due_head && due_head->deadline <= t) {
		struct conn *c = due_head;

		due_head = c->next_due;
		if (!due_head)
			due_tail = NULL;
		if (c->dead || respond(c) < 0)
			conn_free(c);
		t = now_ns();
	}
	return due_head ? (int64_t)(due_head->deadline - t) : -1;
}

static int listen_on(int port, int backlog)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0)
		want_rx_stamps(fd); /* before listen: stamps every packet from the start */
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, backlog) ||
	    getsockname(fd, (struct sockaddr *)&a, &alen)) {
		perror("req_httpd: failed to listen");
		exit(1);
	}
	printf("port %d\n", ntohs(a.sin_port));
	fflush(stdout);
	return fd;
}

static void accept_all(int ep, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
		struct conn *c;

		if (fd < 0)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		want_rx_stamps(fd);
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
			conn_free(c);
	}
}

static void write_log(const char *path)
{
	FILE *f;

	if (!path || !(f = fopen(path, "w")))
		return;
	for (size_t i = 0; i < svc_n; i++)
		fprintf(f, "%llu %llu\n", (unsigned long long)svc_log[i][0],
			(unsigned long long)svc_log[i][1]);
	fclose(f);
}

static void on_conn_event(int ep, struct conn *c)
{
	if (opt_read_delay_ns) {
		struct timespec d = { (time_t)(opt_read_delay_ns / 1000000000ULL),
				      (long)(opt_read_delay_ns % 1000000000ULL) };

		while (nanosleep(&d, &d) < 0 && errno == EINTR && !stop)
			;
	}
	if (on_readable(c) == 0)
		return;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->waiting)
		c->dead = 1; /* freed when its response comes due */
	else
		conn_free(c);
}

static void serve(int ep, int lfd)
{
	struct epoll_event evs[MAX_EVENT];

	while (!stop) {
		int64_t wait = run_due();
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 200000000 };
		int n;

		if (wait >= 0 && wait < 200000000)
			ts.tv_nsec = wait;
		n = epoll_pwait2(ep, evs, MAX_EVENT, &ts, NULL);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &listen_mark)
				accept_all(ep, lfd);
			else
				on_conn_event(ep, evs[i].data.ptr);
		}
	}
}

int main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN };
	const char *log_path = NULL;
	int port = 0, backlog = 4096, opt, ep, lfd;

	while ((opt = getopt(argc, argv, "p:d:r:l:cb:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'd': opt_delay_ns = strtoull(optarg, NULL, 10) * 1000; break;
		case 'r': opt_read_delay_ns = strtoull(optarg, NULL, 10) * 1000; break;
		case 'l': log_path = optarg; break;
		case 'c': opt_close = 1; break;
		case 'b': backlog = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: req_httpd [-p PORT] [-d DELAY_US] [-r READ_DELAY_US] [-l LOG] [-c] [-b BACKLOG]\n");
			return 2;
		}
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	svc_log = log_path ? malloc(MAX_LOG * sizeof(*svc_log)) : NULL;
	if (log_path && !svc_log) {
		fprintf(stderr, "req_httpd: no memory for the service-time log\n");
		return 1;
	}
	lfd = listen_on(port, backlog);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.data.ptr = &listen_mark;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev)) {
		perror("req_httpd: epoll");
		return 1;
	}
	serve(ep, lfd);
	write_log(log_path);
	return 0;
}
