<?php
// Functions of php-fpm's SAPI that scripts written for it call, declared
// for docroot mode (the CLI has none of them): by docroot.php in the
// master, so every fork has them, and by docroot-request.php in every
// request of a reused worker, since PHP's request shutdown removes them.
if (!function_exists('fastcgi_finish_request')) {
    /** Sends the whole response now; the script goes on without its client. */
    function fastcgi_finish_request(): bool
    {
        return \Zygote\Classic\RequestEnd::finishEarly();
    }
}
