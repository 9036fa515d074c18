/* fuzz_qfile.c - the queue file reader on arbitrary bytes: the queue is an
 * input too (a disk error, a bug in another version, a hostile local user
 * with queue access must not crash the queue manager or the commands). */
#include <stddef.h>
#include <stdint.h>

#include "lib/log.h"
#include "lib/str.h"
#include "queue/qmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qmsg *m = NULL;
	const char *err;
	struct str out;
	size_t i;

	log_open("fuzz", 0);
	if (qmsg_parse(data, size, &m, &err) == 0) {
		str_init(&out, 256);
		qmsg_content(m, &out);
		(void)qmsg_attr(m, "client_name");
		for (i = 0; i < m->nrcpts; i++)
			str_appendf(&out, "%s %s %d", m->rcpts[i].addr,
			    m->rcpts[i].orcpt != NULL ? m->rcpts[i].orcpt : "", m->rcpts[i].notify);
		(void)qmsg_todo(m);
		str_deinit(&out);
		qmsg_free(&m);
	}
	return 0;
}
