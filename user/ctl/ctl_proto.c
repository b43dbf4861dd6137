/*
 * ctl_proto.c - encoding and parsing of control-protocol lines; see ctl.h
 * and include/presage/ctl_proto.h.  Pure functions of their input: the
 * fuzz target drives them directly.
 */
#include "ctl/ctl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Print root compactly as one '\n'-terminated line; NULL on ENOMEM. */
static char *to_line(const cJSON *root)
{
	char *s = cJSON_PrintUnformatted(root), *line;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s);
	line = realloc(s, n + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	return line;
}

/* The protocol version of a message: -1 when absent or not a small integer. */
static int version_of(const cJSON *root)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "v");

	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 0 ||
	    v->valuedouble > 1e6)
		return -1;
	return (int)v->valuedouble;
}

int ctl_request_parse(const char *line, size_t len, struct ctl_request *req, char *err,
		      size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(line, len);
	const cJSON *cmd, *args;

	memset(req, 0, sizeof(*req));
	if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "malformed request: not a JSON object");
		cJSON_Delete(root);
		return -EINVAL;
	}
	req->v = version_of(root);
	if (req->v < 0) {
		snprintf(err, errlen, "malformed request: no protocol version \"v\"");
		cJSON_Delete(root);
		return -EINVAL;
	}
	if (req->v != CTL_PROTO_VERSION) {
		snprintf(err, errlen,
			 "presaged speaks protocol %d, this presage speaks %d: use matching "
			 "presage and presaged versions", CTL_PROTO_VERSION, req->v);
		cJSON_Delete(root);
		return -EPROTO;
	}
	cmd = cJSON_GetObjectItemCaseSensitive(root, "cmd");
	args = cJSON_GetObjectItemCaseSensitive(root, "args");
	if (!cJSON_IsString(cmd) || !*cmd->valuestring || strlen(cmd->valuestring) >= sizeof(req->cmd)) {
		snprintf(err, errlen, "malformed request: \"cmd\" must be a command name");
		cJSON_Delete(root);
		return -EINVAL;
	}
	if (args && !cJSON_IsObject(args) && !cJSON_IsNull(args)) {
		snprintf(err, errlen, "malformed request: \"args\" must be an object");
		cJSON_Delete(root);
		return -EINVAL;
	}
	snprintf(req->cmd, sizeof(req->cmd), "%s", cmd->valuestring);
	if (cJSON_IsObject(args))
		req->args = cJSON_DetachItemFromObjectCaseSensitive(root, "args");
	cJSON_Delete(root);
	return 0;
}

void ctl_request_free(struct ctl_request *req)
{
	if (!req)
		return;
	cJSON_Delete(req->args);
	req->args = NULL;
}

char *ctl_request_encode(const char *cmd, const cJSON *args)
{
	cJSON *root = cJSON_CreateObject();
	char *line = NULL;

	if (root && cJSON_AddNumberToObject(root, "v", CTL_PROTO_VERSION) &&
	    cJSON_AddStringToObject(root, "cmd", cmd)) {
		cJSON *a = args ? cJSON_Duplicate(args, true) : cJSON_CreateObject();

		if (a && cJSON_AddItemToObject(root, "args", a))
			line = to_line(root);
		else
			cJSON_Delete(a);
	}
	cJSON_Delete(root);
	return line;
}

char *ctl_response_ok(cJSON *data)
{
	cJSON *root = cJSON_CreateObject();
	char *line = NULL;

	if (!data)
		data = cJSON_CreateNull();
	if (root && data && cJSON_AddNumberToObject(root, "v", CTL_PROTO_VERSION) &&
	    cJSON_AddTrueToObject(root, "ok") && cJSON_AddItemToObject(root, "data", data)) {
		data = NULL;
		line = to_line(root);
	}
	cJSON_Delete(data);
	cJSON_Delete(root);
	return line;
}

char *ctl_response_error(const char *msg)
{
	cJSON *root = cJSON_CreateObject();
	char *line = NULL;

	if (root && cJSON_AddNumberToObject(root, "v", CTL_PROTO_VERSION) &&
	    cJSON_AddFalseToObject(root, "ok") && cJSON_AddStringToObject(root, "error", msg))
		line = to_line(root);
	cJSON_Delete(root);
	return line;
}

int ctl_response_parse(const char *line, size_t len, struct ctl_response *resp, char *err,
		       size_t errlen)
{
	const cJSON *ok, *e;

	memset(resp, 0, sizeof(*resp));
	resp->root = cJSON_ParseWithLength(line, len);
	if (!cJSON_IsObject(resp->root) || (resp->v = version_of(resp->root)) < 0) {
		snprintf(err, errlen, "malformed response from presaged");
		ctl_response_free(resp);
		return -EINVAL;
	}
	if (resp->v != CTL_PROTO_VERSION) {
		snprintf(err, errlen,
			 "presaged speaks protocol %d, this presage speaks %d: use matching "
			 "presage and presaged versions", resp->v, CTL_PROTO_VERSION);
		ctl_response_free(resp);
		return -EPROTO;
	}
	ok = cJSON_GetObjectItemCaseSensitive(resp->root, "ok");
	if (!cJSON_IsBool(ok)) {
		snprintf(err, errlen, "malformed response from presaged: no \"ok\"");
		ctl_response_free(resp);
		return -EINVAL;
	}
	resp->ok = cJSON_IsTrue(ok);
	resp->data = cJSON_GetObjectItemCaseSensitive(resp->root, "data");
	e = cJSON_GetObjectItemCaseSensitive(resp->root, "error");
	if (!resp->ok)
		snprintf(resp->error, sizeof(resp->error), "%s",
			 cJSON_IsString(e) ? e->valuestring : "unspecified error");
	return 0;
}

void ctl_response_free(struct ctl_response *resp)
{
	if (!resp)
		return;
	cJSON_Delete(resp->root);
	resp->root = NULL;
	resp->data = NULL;
}
