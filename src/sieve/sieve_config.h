/* sieve_config.h - Pigeonhole's plugin settings (sieve_extensions,
 * sieve_max_*, sieve_vacation_*_period, sieve_duplicate_*_period,
 * sieve_editheader_*, sieve_spamtest_*, sieve_global,
 * ...) as one struct, and the file loader include uses. Shared by the
 * command-line tools, the testsuite and deliver. */
#ifndef YUBIN_SIEVE_CONFIG_H
#define YUBIN_SIEVE_CONFIG_H

#include "sieve/sieve.h"

struct sieve_config {
	struct sieve_limits limits;
	struct sieve_extset exts;
	struct sieve_scorecfg spam, virus;
	struct sieve_hdrcfg editheader;	/* sieve_editheader_protected / forbid_* */
	char	**env_config;		/* sieve_env_NAME = value as "NAME=value",
					 * NULL-ended (vnd.dovecot.environment) */
	size_t	 nenv_config;
	char	*personal_dir;		/* include :personal (the script's directory) */
	char	*global_dir;		/* include :global (sieve_global) */
	struct sieve_loader loader;	/* loads NAME.sieve from the two */
};

void	 sieve_config_init(struct sieve_config *);
void	 sieve_config_deinit(struct sieve_config *);
/* sieve_config_set - one plugin setting; 1 applied, 0 not a Sieve setting
 * (ignored), -1 bad value (*error_r) */
int	 sieve_config_set(struct sieve_config *, const char *key, const char *value,
	    const char **error_r);
/* sieve_config_unset - back to the default */
void	 sieve_config_unset(struct sieve_config *, const char *key);
/* sieve_script_basename - "dir/name.sieve" -> "name" (caller frees) */
char	*sieve_script_basename(const char *path);

#endif
