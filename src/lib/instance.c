/* instance.c - locate an instance's configuration (see instance.h). */
#include "lib/instance.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

const char *
instance_config_dir(const char *flag_value)
{
	const char *env;

	if (flag_value != NULL && *flag_value != '\0')
		return flag_value;
	if ((env = getenv("MAIL_CONFIG")) != NULL && *env != '\0')
		return env;
	return INSTANCE_DEFAULT_DIR;
}

char *
instance_dovecot_conf(const char *flag_value)
{
	if (flag_value != NULL && *flag_value != '\0')
		return xstrdup(flag_value);
	return path_join(instance_config_dir(NULL), "dovecot.conf");
}

char *
instance_dir_from_path(const char *path)
{
	struct stat st;
	struct str dir;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return xstrdup(path);
	str_init(&dir, 64);
	path_dirname(&dir, path);
	return str_export(&dir);
}
