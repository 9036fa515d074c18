/* sieve_tools.h - what sievec, sieve-test, sieve-testsuite and deliver
 * share: reading scripts and messages, options, envelope defaults
 * (src/cli/sieve_tools.c). */
#ifndef YUBIN_SIEVE_TOOLS_H
#define YUBIN_SIEVE_TOOLS_H

#include <stddef.h>

struct sieve_config;
struct sieve_env;
struct sieve_msg;
struct sieve_script;

int	 sieve_tool_setting(struct sieve_config *, const char *tool, const char *kv);
int	 sieve_tool_config_file(struct sieve_config *, const char *tool, const char *path);
int	 sieve_tool_extensions(struct sieve_config *, const char *tool, const char *spec);
struct sieve_script *sieve_tool_compile(struct sieve_config *, const char *path,
	    const char *tool);
struct sieve_msg *sieve_tool_message(const char *path, const char *tool);
/* sieve_tool_env_defaults - fill what the caller left NULL; owned[0..2]
 * receive strings the caller frees */
void	 sieve_tool_env_defaults(struct sieve_env *, struct sieve_config *, struct sieve_msg *,
	    char **owned, size_t nowned);

#endif
