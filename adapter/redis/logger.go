package redisadapter

import (
	"context"
	"log/slog"
)

// defaultLogger is the Logger of the options that give none: it logs
// through slog.Default, each message behind prefix, at the level named
// ("warn", "error"; anything else is info).
func defaultLogger(prefix string) func(level, msg string, fields ...any) {
	return func(level, msg string, fields ...any) {
		l := slog.LevelInfo
		switch level {
		case "warn":
			l = slog.LevelWarn
		case "error":
			l = slog.LevelError
		}
		slog.Default().Log(context.Background(), l, prefix+msg, fields...)
	}
}
