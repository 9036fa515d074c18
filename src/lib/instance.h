/* instance.h - where one yubin instance keeps its configuration.
 *
 * An instance is a config directory holding main.cf, master.cf,
 * dovecot.conf (+ conf.d) and aliases. Every command finds it the same way:
 * its own flag (-c DIR, -C DIR or -c FILE, as its anchor takes), else the
 * MAIL_CONFIG environment variable, else /etc/yubin. */
#ifndef YUBIN_INSTANCE_H
#define YUBIN_INSTANCE_H

#define INSTANCE_DEFAULT_DIR	"/etc/yubin"

/* instance_config_dir - the flag's value, else $MAIL_CONFIG, else the default.
 * The result is borrowed (from the argument, the environment or a literal). */
const char *instance_config_dir(const char *flag_value);
/* instance_dovecot_conf - path of dovecot.conf (caller frees): the -c FILE
 * flag, else dovecot.conf in instance_config_dir(NULL). */
char	*instance_dovecot_conf(const char *flag_value);
/* instance_dir_from_path - for "-C" of sendmail: a main.cf path or a directory
 * (caller frees) */
char	*instance_dir_from_path(const char *path);

#endif
