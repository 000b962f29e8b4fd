// The `type` of the admin API's problem details (RFC 9457): the page that lists the error codes.
export const problemType = "https://github.com/xdsd/xdsd/blob/main/docs/errors.md";
