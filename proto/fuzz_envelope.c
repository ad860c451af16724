/*-------------------------------------------------------------------------
 *
 * fuzz_envelope.c
 *	  libFuzzer target for the decoders that read bytes from the network:
 *	  bus envelopes (wbe_decode) and control requests and responses
 *	  (wbc_decode_*).  Built and run by "make fuzz" (clang, ASan, UBSan).
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdlib.h>

#include "walbus_control.h"
#include "walbus_envelope.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static wbe_dec dec;
	static int	init;
	wbe_envelope env;
	wbc_request req;
	wbc_schema	sc;
	wbc_status	st;
	wbc_hello	hello;
	wbc_replay	rp;
	uint64_t	flushed;
	bool		ok;
	wb_str		code,
				message;
	char		err[160];

	if (!init)
	{
		wbe_dec_init(&dec);
		init = 1;
	}
	(void) wbe_decode(&dec, data, size, &env);
	(void) wbc_decode_request(data, size, &req, err, sizeof(err));
	(void) wbc_decode_result(data, size, &ok, &code, &message, err,
							 sizeof(err));
	if (wbc_decode_schema(data, size, &sc, err, sizeof(err)) == WB_OK)
		free(sc.columns);
	(void) wbc_decode_status(data, size, &st, err, sizeof(err));
	(void) wbc_decode_hello(data, size, &hello, err, sizeof(err));
	(void) wbc_decode_ack(data, size, &flushed, err, sizeof(err));
	if (wbc_decode_replay(data, size, &rp, err, sizeof(err)) == WB_OK)
	{
		/* every page entry must lie inside the input */
		for (uint32_t i = 0; i < rp.nmessages; i++)
			if (rp.messages[i].len > 0 &&
				((const uint8_t *) rp.messages[i].ptr < data ||
				 (const uint8_t *) rp.messages[i].ptr + rp.messages[i].len >
				 data + size))
				__builtin_trap();
		free(rp.messages);
	}
	return 0;
}
