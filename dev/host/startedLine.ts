// The line the local host's process prints on stdout once it serves, whatever the log level, so
// whoever started it (npm start, tests) learns its URL: `LOCAL_HOST_URL=http://127.0.0.1:PORT`.
export const startedLinePrefix = "LOCAL_HOST_URL=";
