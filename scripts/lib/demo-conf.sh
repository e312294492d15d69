# shellcheck shell=bash
# The demo's server configurations, for scripts/demo and scripts/demo-fleet.
# They read these globals: PREFIX (the server's directory), PORT, MODULE (the
# built module), CONFIG (scepter.yaml), USER_LINE (nginx's `user` line, empty
# when not root) and APACHE_MODULES. The admin faces sit behind basic auth
# with PREFIX/conf/admin.htpasswd.

write_nginx_conf() {
cat >"$PREFIX/conf/nginx.conf" <<EOF
# written by scripts/demo
load_module $MODULE;
worker_processes 2;
$USER_LINE
pid logs/nginx.pid;
error_log logs/error.log info;
events { worker_connections 256; }
http {
    access_log logs/access.log;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    scepter_config $CONFIG;
    server {
        listen 127.0.0.1:$PORT;
        location /scep { scepter legacy; }
        location /scep-strict { scepter; }
        location /ocsp { scepter_ocsp; }
        # NDES's admin page and the JSON challenge API, behind basic auth
        location = /certsrv/mscep_admin/ {
            auth_basic "Scepter demo";
            auth_basic_user_file $PREFIX/conf/admin.htpasswd;
            scepter_mscep_admin legacy;
        }
        location = /admin/challenge {
            auth_basic "Scepter demo";
            auth_basic_user_file $PREFIX/conf/admin.htpasswd;
            scepter_admin legacy;
        }
        # the enrollments page (every profile's), behind the same basic auth
        location = /admin/enrollments {
            auth_basic "Scepter demo";
            auth_basic_user_file $PREFIX/conf/admin.htpasswd;
            scepter_enrollments;
        }
        # Prometheus metrics (docs/METRICS.md), behind the same basic auth
        location = /metrics {
            auth_basic "Scepter demo";
            auth_basic_user_file $PREFIX/conf/admin.htpasswd;
            scepter_metrics;
        }
    }
}
EOF
}

write_apache_conf() {
  local admin_auth="AuthType Basic
    AuthName \"Scepter demo\"
    AuthUserFile $PREFIX/conf/admin.htpasswd
    Require valid-user"
  cat >"$PREFIX/conf/httpd.conf" <<EOF
# written by scripts/demo
ServerRoot $PREFIX
ServerName 127.0.0.1
Listen 127.0.0.1:$PORT
PidFile run/httpd.pid
DefaultRuntimeDir run
Mutex file:run default
ErrorLog logs/error.log
LogLevel info
$( [[ $EUID -eq 0 ]] && printf 'User www-data\nGroup www-data' )
LoadModule mpm_event_module $APACHE_MODULES/mod_mpm_event.so
LoadModule authz_core_module $APACHE_MODULES/mod_authz_core.so
LoadModule authn_core_module $APACHE_MODULES/mod_authn_core.so
LoadModule authn_file_module $APACHE_MODULES/mod_authn_file.so
LoadModule authz_user_module $APACHE_MODULES/mod_authz_user.so
LoadModule auth_basic_module $APACHE_MODULES/mod_auth_basic.so
LoadModule scepter_module $MODULE
StartServers 2
ServerLimit 4
ThreadsPerChild 32
MaxRequestWorkers 64
ScepterConfig $CONFIG
<Location /scep>
    SetHandler scepter
    ScepterProfile legacy
    Require all granted
</Location>
<Location /scep-strict>
    SetHandler scepter
    ScepterProfile default
    Require all granted
</Location>
# OCSP's GET puts base64 (with its '/', often as %2F) into the path
AllowEncodedSlashes NoDecode
<Location /ocsp>
    SetHandler scepter-ocsp
    Require all granted
</Location>
# NDES's admin page and the JSON challenge API, behind basic auth
<Location /certsrv/mscep_admin/>
    SetHandler scepter-mscep-admin
    ScepterProfile legacy
    $admin_auth
</Location>
<Location /admin/challenge>
    SetHandler scepter-admin
    ScepterProfile legacy
    $admin_auth
</Location>
# the enrollments page (every profile's), behind the same basic auth
<Location /admin/enrollments>
    SetHandler scepter-enrollments
    $admin_auth
</Location>
# Prometheus metrics (docs/METRICS.md), behind the same basic auth
<Location /metrics>
    SetHandler scepter-metrics
    $admin_auth
</Location>
EOF
}
