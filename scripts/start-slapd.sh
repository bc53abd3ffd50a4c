#!/bin/sh
# An AD-like OpenLDAP for development, docker-compose and the tests (needs: apt-get install slapd ldap-utils).
#
# Users carry the attributes Warroom reads from Active Directory (sAMAccountName,
# userPrincipalName, mail, displayName, title, physicalDeliveryOfficeName) and the
# memberof overlay gives them memberOf, as AD does. Anonymous search is refused.
#
#   LDAPDIR          where the configuration, data and pid file go (default var/services/ldap)
#   LDAP_PORT        port to listen on (default 3890)
#   LDAP_LISTEN      address to listen on (default 127.0.0.1; docker-compose uses 0.0.0.0)
#   LDAP_FOREGROUND  1: keep slapd in the foreground (containers); otherwise it daemonizes
#                    and this script returns once the directory is seeded
#   LDAP_ADMIN_PW, LDAP_USER_PW, LDAP_SERVICE_PW  passwords of the rootdn, of the people, of svc-warroom
#
# Seeded (base dc=example,dc=com): alice and bob in ou=Users, the service account
# cn=svc-warroom,ou=Users; groups "Warroom Operators" (alice, bob), "Warroom Admins" (bob)
# and "SOC Analysts" (alice) in ou=Groups.
set -eu
LDAPDIR=${LDAPDIR:-$(cd "$(dirname "$0")/.." && pwd)/var/services/ldap}
PORT=${LDAP_PORT:-3890}
LISTEN=${LDAP_LISTEN:-127.0.0.1}
FOREGROUND=${LDAP_FOREGROUND:-0}
# The address the seeding clients use: the listen address, or loopback when listening everywhere.
case "$LISTEN" in 0.0.0.0|'*'|'') CLIENT_HOST=127.0.0.1 ;; *) CLIENT_HOST=$LISTEN ;; esac
URI="ldap://$CLIENT_HOST:$PORT"
BASE="dc=example,dc=com"
ADMIN_DN="cn=admin,$BASE"
ADMIN_PW=${LDAP_ADMIN_PW:-adminpw}
USER_PW=${LDAP_USER_PW:-Passw0rd!}
SERVICE_PW=${LDAP_SERVICE_PW:-svcpw}
PATH=$PATH:/usr/sbin:/sbin

mkdir -p "$LDAPDIR"
LDAPDIR=$(cd "$LDAPDIR" && pwd)

# Stop a previous instance started from this folder (and only that one).
if [ -f "$LDAPDIR/slapd.pid" ]; then
  old=$(cat "$LDAPDIR/slapd.pid")
  if kill "$old" 2>/dev/null; then
    for _ in $(seq 1 50); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$LDAPDIR/slapd.pid"
fi
rm -rf "$LDAPDIR/data"
mkdir -p "$LDAPDIR/data"

# AD's own attribute OIDs, with matching rules (Debian's msuser.schema has none for
# sAMAccountName), attached to inetOrgPerson through an AUXILIARY class.
cat > "$LDAPDIR/adlite.schema" <<'EOF'
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.2.141 NAME 'department'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.4203.666.11.99.1 NAME 'adLiteUser' SUP top AUXILIARY
  MAY ( sAMAccountName $ userPrincipalName $ department ) )
EOF

cat > "$LDAPDIR/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include $LDAPDIR/adlite.schema
pidfile  $LDAPDIR/slapd.pid
argsfile $LDAPDIR/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
database mdb
maxsize 104857600
suffix "$BASE"
rootdn "$ADMIN_DN"
rootpw $(slappasswd -s "$ADMIN_PW")
directory $LDAPDIR/data
index objectClass eq
index uid,sAMAccountName,userPrincipalName,mail,member eq
overlay memberof
access to attrs=userPassword by self write by anonymous auth by * none
access to * by users read by anonymous auth
EOF

slaptest -Q -u -f "$LDAPDIR/slapd.conf"

if [ "$FOREGROUND" = "1" ]; then
  # -d 0: stay in the foreground without debug output; the signal handlers stop it.
  slapd -f "$LDAPDIR/slapd.conf" -h "ldap://$LISTEN:$PORT/" -d 0 &
  SLAPD_PID=$!
  trap 'kill "$SLAPD_PID" 2>/dev/null' INT TERM
else
  # slapd daemonizes itself and writes slapd.pid.
  slapd -f "$LDAPDIR/slapd.conf" -h "ldap://$LISTEN:$PORT/"
fi

ready=0
for _ in $(seq 1 100); do
  if ldapwhoami -x -H "$URI" -D "$ADMIN_DN" -w "$ADMIN_PW" >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.1
done
if [ "$ready" != 1 ]; then
  echo "slapd did not answer on $URI" >&2
  exit 1
fi

USER_HASH=$(slappasswd -s "$USER_PW")
ldapadd -x -H "$URI" -D "$ADMIN_DN" -w "$ADMIN_PW" >/dev/null <<EOF
dn: $BASE
objectClass: dcObject
objectClass: organization
dc: example
o: Example Corp

dn: ou=Users,$BASE
objectClass: organizationalUnit
ou: Users

dn: ou=Groups,$BASE
objectClass: organizationalUnit
ou: Groups

dn: cn=svc-warroom,ou=Users,$BASE
objectClass: inetOrgPerson
cn: svc-warroom
sn: svc-warroom
uid: svc-warroom
userPassword: $(slappasswd -s "$SERVICE_PW")

dn: cn=Alice Chen,ou=Users,$BASE
objectClass: inetOrgPerson
objectClass: adLiteUser
cn: Alice Chen
sn: Chen
givenName: Alice
uid: alice
sAMAccountName: alice
userPrincipalName: alice@example.com
mail: alice@example.com
displayName: 陳愛麗 Alice Chen
title: Incident Analyst
department: Security Operations
physicalDeliveryOfficeName: Taipei HQ 5F
telephoneNumber: +886-2-1234-5678
userPassword: $USER_HASH

dn: cn=Bob Lin,ou=Users,$BASE
objectClass: inetOrgPerson
objectClass: adLiteUser
cn: Bob Lin
sn: Lin
givenName: Bob
uid: bob
sAMAccountName: bob
userPrincipalName: bob@corp.example.com
mail: bob.lin@example.com
displayName: 林志明 Bob Lin
title: Network Engineer
physicalDeliveryOfficeName: Kaohsiung Office 2F
userPassword: $USER_HASH

dn: cn=Warroom Operators,ou=Groups,$BASE
objectClass: groupOfNames
cn: Warroom Operators
member: cn=Alice Chen,ou=Users,$BASE
member: cn=Bob Lin,ou=Users,$BASE

dn: cn=Warroom Admins,ou=Groups,$BASE
objectClass: groupOfNames
cn: Warroom Admins
member: cn=Bob Lin,ou=Users,$BASE

dn: cn=SOC Analysts,ou=Groups,$BASE
objectClass: groupOfNames
cn: SOC Analysts
member: cn=Alice Chen,ou=Users,$BASE
EOF

if [ "$FOREGROUND" = "1" ]; then
  echo "slapd up on ldap://$LISTEN:$PORT pid $SLAPD_PID (foreground)"
  # wait returns early when a trapped signal arrives; then wait for slapd to finish.
  wait "$SLAPD_PID" || true
  wait "$SLAPD_PID" 2>/dev/null || true
else
  echo "slapd up on $URI pid $(cat "$LDAPDIR/slapd.pid")"
fi
