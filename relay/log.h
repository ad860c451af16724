/*-------------------------------------------------------------------------
 *
 * log.h
 *	  Leveled logging of walbus-relay to stderr, one line per event.
 *
 * Lines read "walbus-relay: LEVEL: message".  Errors that stop the relay
 * are logged at WR_LOG_ERROR with the fix in the same line, so scripts and
 * humans see one self-contained line.  Not thread-safe (the relay has one
 * thread); wr_log never fails.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_LOG_H
#define WR_LOG_H

typedef enum wr_log_level
{
	WR_LOG_ERROR,
	WR_LOG_WARNING,
	WR_LOG_INFO,
	WR_LOG_DEBUG
} wr_log_level;

extern void wr_log_set_level(wr_log_level level);
/* "error", "warning", "info", "debug" in wr_log_level's order, then NULL */
extern const char *const wr_log_level_names[];
extern void				 wr_log(wr_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define wr_error(...)	wr_log(WR_LOG_ERROR, __VA_ARGS__)
#define wr_warning(...) wr_log(WR_LOG_WARNING, __VA_ARGS__)
#define wr_info(...)	wr_log(WR_LOG_INFO, __VA_ARGS__)
#define wr_debug(...)	wr_log(WR_LOG_DEBUG, __VA_ARGS__)

#endif /* WR_LOG_H */
