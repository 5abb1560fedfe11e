#!/bin/sh
# Makes the certificates ferry's TLS tests use, with the openssl command line, into DIR:
#   ca.pem ca.key            the test CA
#   server.pem server.key    CN=localhost, subjectAltName DNS:localhost, IP:127.0.0.1
#   server-enc.key           server.key encrypted with the password "secret" (ssl.key.password)
#   client.pem client.key    CN=sensor7,OU=line2,O=acme (principal User:CN=sensor7,OU=line2,O=acme)
#   expired.pem expired.key  like server.pem, valid only in 2020
#   client-expired.pem/.key  like client.pem, valid only in 2020
#   wronghost.pem/.key       CN=wrong.example, DNS:wrong.example, IP:10.9.9.9
#   other-ca.pem             an unrelated CA; untrusted.pem/.key (localhost) is signed by it
# Keys are ECDSA P-256 unless KEY_TYPE=rsa (RSA 2048). Usage: make_certs.sh DIR
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"
key_type=${KEY_TYPE:-ec}

newkey() {
  if [ "$key_type" = rsa ]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null
  else
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
  fi
}

# ca NAME SUBJECT
ca() {
  newkey "$1.key"
  openssl req -x509 -new -key "$1.key" -subj "$2" -days 3650 -out "$1.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    2>/dev/null
}

# leaf NAME SUBJECT SAN CA [STARTDATE ENDDATE]
leaf() {
  newkey "$1.key"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
  if [ -n "$3" ]; then
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\n' "$3" > "$1.ext"
  else
    printf 'basicConstraints=CA:FALSE\n' > "$1.ext"
  fi
  if [ $# -ge 6 ]; then
    # openssl x509 cannot back-date; `openssl ca` takes explicit dates.
    mkdir -p "$1.db"
    : > "$1.db/index.txt"
    cat > "$1.db/ca.cnf" <<CNF
[ ca ]
default_ca = test
[ test ]
database = $1.db/index.txt
new_certs_dir = $1.db
serial = $1.db/serial
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
commonName = supplied
organizationalUnitName = optional
organizationName = optional
CNF
    echo 1000 > "$1.db/serial"
    openssl ca -batch -config "$1.db/ca.cnf" -cert "$4.pem" -keyfile "$4.key" -in "$1.csr" \
      -out "$1.pem" -startdate "$5" -enddate "$6" -extfile "$1.ext" -notext 2>/dev/null
    rm -rf "$1.db"
  else
    openssl x509 -req -in "$1.csr" -CA "$4.pem" -CAkey "$4.key" -CAcreateserial -days 825 \
      -sha256 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  fi
  rm -f "$1.csr" "$1.ext"
}

ca ca "/CN=ferry test CA"
leaf server "/CN=localhost" "DNS:localhost,IP:127.0.0.1" ca
leaf client "/O=acme/OU=line2/CN=sensor7" "" ca
leaf expired "/CN=localhost" "DNS:localhost,IP:127.0.0.1" ca 20200101000000Z 20200201000000Z
leaf client-expired "/O=acme/OU=line2/CN=sensor7" "" ca 20200101000000Z 20200201000000Z
leaf wronghost "/CN=wrong.example" "DNS:wrong.example,IP:10.9.9.9" ca
ca other-ca "/CN=some other CA"
leaf untrusted "/CN=localhost" "DNS:localhost,IP:127.0.0.1" other-ca
openssl pkey -in server.key -traditional -aes256 -passout pass:secret -out server-enc.key 2>/dev/null
rm -f ./*.srl
