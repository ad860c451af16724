# Throwaway certificates for the TLS suites (tests/tls/run, tests/jstls/run):
# source this file after setting PKI, the directory they go in.
#
#   make_ca NAME                     a self-signed CA: PKI/NAME.crt, .key
#   make_cert NAME CA CN EXTENSIONS  a key and a certificate for CN signed
#                                    by CA, with the openssl extension
#                                    lines EXTENSIONS (e.g. a
#                                    subjectAltName, extendedKeyUsage)
# Both use openssl, valid for 2 days, and return its status.
# shellcheck shell=bash

make_ca() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" \
        -keyout "$PKI/$1.key" -out "$PKI/$1.crt" 2>/dev/null
}

make_cert() {
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$3" \
        -keyout "$PKI/$1.key" -out "$PKI/$1.csr" 2>/dev/null &&
        printf '%s\n' "$4" >"$PKI/$1.ext" &&
        openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$2.crt" -CAkey "$PKI/$2.key" \
            -CAcreateserial -days 2 -extfile "$PKI/$1.ext" -out "$PKI/$1.crt" 2>/dev/null
}
