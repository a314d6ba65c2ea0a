/* failoverctl: talk to a running failoverd over its control socket. */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "log.h"

#define DEFAULT_CONF	"/etc/failoverd/failoverd.conf"
#define DEFAULT_RUNTIME	"/run/failoverd"
#define CTL_PROTO	"failoverd/1"
#define REPLY_MAX	(4 * 1024 * 1024)	/* metrics of the largest config: ~300 KB */
#define TIMEOUT_MS	5000

enum { EXIT_OK = 0, EXIT_ERR = 1, EXIT_UNHEALTHY = 3 };

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr,
	    "usage: failoverctl [-f FILE | -s SOCKET] COMMAND\n"
	    "commands:\n"
	    "  status [--json]        state, peer, links, VIPs, counters\n"
	    "  switchover [GROUP...]  hand the groups (default: every group held)\n"
	    "                         to the peer (make-before-break)\n"
	    "  maintenance on|off     freeze roles: no failover, no preempt\n"
	    "  reload                 re-read the configuration\n"
	    "  metrics                the Prometheus metrics (as GET /metrics)\n"
	    "  keygen FILE            write a new random cluster key (mode 0600)\n");
	exit(EXIT_ERR);
}

static int
request(const char *sock, const char *req)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	static char reply[REPLY_MAX];
	size_t len = 0;
	ssize_t n;
	char *nl, *body;
	int fd;

	if (strlen(sock) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "failoverctl: socket path too long: %s\n", sock);
		return EXIT_ERR;
	}
	strcpy(sun.sun_path, sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "failoverctl: cannot reach failoverd at %s: %s\n",
		    sock, strerror(errno));
		return EXIT_ERR;
	}
	len = (size_t)snprintf(reply, sizeof(reply), "%s %s\n", CTL_PROTO, req);
	/* a refusal may close before reading us: its reason is queued anyway */
	if (send(fd, reply, len, MSG_NOSIGNAL) == -1 && errno != EPIPE &&
	    errno != ECONNRESET) {
		fprintf(stderr, "failoverctl: send: %s\n", strerror(errno));
		return EXIT_ERR;
	}
	len = 0;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, TIMEOUT_MS) <= 0) {
			fprintf(stderr, "failoverctl: no answer from failoverd\n");
			return EXIT_ERR;
		}
		n = read(fd, reply + len, sizeof(reply) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(reply) - 1)
			break;
	}
	close(fd);
	reply[len] = '\0';
	if ((nl = strchr(reply, '\n')) == NULL) {
		fprintf(stderr, "failoverctl: malformed answer from failoverd\n");
		return EXIT_ERR;
	}
	*nl = '\0';
	body = nl + 1;
	if (strncmp(reply, CTL_PROTO " ", sizeof(CTL_PROTO)) != 0) {
		fprintf(stderr, "failoverctl: unexpected answer: %s\n", reply);
		return EXIT_ERR;
	}
	fputs(body, stdout);
	if (strcmp(reply + sizeof(CTL_PROTO), "ok") == 0)
		return EXIT_OK;
	if (strcmp(reply + sizeof(CTL_PROTO), "unhealthy") == 0)
		return EXIT_UNHEALTHY;
	fprintf(stderr, "failoverctl: %s\n", reply + sizeof(CTL_PROTO));
	return EXIT_ERR;
}

int
main(int argc, char **argv)
{
	static struct config cfg;
	const char *conf = DEFAULT_CONF, *sock = NULL;
	char err[CFG_ERR_MAX], path[PATH_MAX + 32];
	int ch;

	log_init("failoverctl", 0);
	while ((ch = getopt(argc, argv, "+f:s:h")) != -1) {
		switch (ch) {
		case 'f':
			conf = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();

	if (strcmp(argv[0], "keygen") == 0) {
		if (argc != 2)
			usage();
		if (auth_keygen(argv[1], err, sizeof(err)) == -1) {
			fprintf(stderr, "failoverctl: %s\n", err);
			return EXIT_ERR;
		}
		printf("wrote a new key to %s (mode 0600); copy it to the other node\n",
		    argv[1]);
		return EXIT_OK;
	}
	if (sock == NULL) {
		/* a config being edited must not lock the operator out */
		if (config_load(conf, &cfg, err, sizeof(err)) == -1) {
			fputs(err, stderr);
			fprintf(stderr, "failoverctl: %s has errors; trying the default "
			    "socket %s/control.sock\n", conf, DEFAULT_RUNTIME);
			snprintf(cfg.runtime_dir, sizeof(cfg.runtime_dir), "%s",
			    DEFAULT_RUNTIME);
		}
		snprintf(path, sizeof(path), "%s/control.sock", cfg.runtime_dir);
		sock = path;
	}
	if (strcmp(argv[0], "status") == 0) {
		if (argc == 1)
			return request(sock, "status");
		if (argc == 2 && strcmp(argv[1], "--json") == 0)
			return request(sock, "status json");
		usage();
	}
	if (strcmp(argv[0], "switchover") == 0) {
		char req[256];
		size_t off = (size_t)snprintf(req, sizeof(req), "switchover");

		for (int i = 1; i < argc; i++) {
			/* group names never hold blanks (config.c) */
			if (strpbrk(argv[i], " \t\n") != NULL || off + 1 +
			    strlen(argv[i]) >= sizeof(req))
				usage();
			off += (size_t)snprintf(req + off, sizeof(req) - off,
			    " %s", argv[i]);
		}
		return request(sock, req);
	}
	if (strcmp(argv[0], "reload") == 0 && argc == 1)
		return request(sock, "reload");
	if (strcmp(argv[0], "metrics") == 0 && argc == 1)
		return request(sock, "metrics");
	if (strcmp(argv[0], "maintenance") == 0 && argc == 2 &&
	    (strcmp(argv[1], "on") == 0 || strcmp(argv[1], "off") == 0)) {
		return request(sock, strcmp(argv[1], "on") == 0 ?
		    "maintenance on" : "maintenance off");
	}
	usage();
}
