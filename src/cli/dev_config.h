/* dev_config.h - the configuration files of a "yubin dev" instance.
 *
 * Each function appends one complete, commented file to out. Every path
 * written is absolute (under dev->dir), so that "-c DIR" or MAIL_CONFIG=DIR
 * finds the same instance from any working directory. */
#ifndef YUBIN_DEV_CONFIG_H
#define YUBIN_DEV_CONFIG_H

struct str;

/* Offsets from the port base; the last two digits keep the well-known
 * port recognisable (base 10000: smtp on 10025, imap on 10143). */
#define DEV_PORT_LMTP		24
#define DEV_PORT_SMTP		25
#define DEV_PORT_POP3		110
#define DEV_PORT_IMAP		143
#define DEV_PORT_SMTPS		465
#define DEV_PORT_SUBMISSION	587
#define DEV_PORT_IMAPS		993
#define DEV_PORT_POP3S		995
#define DEV_PORT_SIEVE		4190

#define DEV_PORT_BASE_DEFAULT	10000
/* the lowest and highest offsets, for range checks */
#define DEV_PORT_MIN_OFFSET	DEV_PORT_LMTP
#define DEV_PORT_MAX_OFFSET	DEV_PORT_SIEVE

/* The demo user of every dev instance. The password is public (it is in
 * this file) and only ever used in dev mode, where the instance listens on
 * loopback only. */
#define DEV_USER_NAME		"demo"
#define DEV_USER_PASSWORD	"demo"

struct dev_params {
	const char	*dir;		/* borrowed; absolute, no trailing slash */
	int		 port_base;
	const char	*hostname;	/* borrowed */
	const char	*user;		/* borrowed; the invoking user's name */
	const char	*group;		/* borrowed; its primary group's name */
	unsigned long	 uid;
	unsigned long	 gid;
	const char	*bindir;	/* borrowed; the running binary's directory
					 * (NULL: "yubin" from PATH) */
};

void	 dev_config_main_cf(struct str *out, const struct dev_params *dev);
void	 dev_config_master_cf(struct str *out, const struct dev_params *dev);
void	 dev_config_dovecot_conf(struct str *out, const struct dev_params *dev);
void	 dev_config_aliases(struct str *out, const struct dev_params *dev);
void	 dev_config_users(struct str *out, const struct dev_params *dev);

#endif
