<?php
// The master script of docroot mode: runs unmodified scripts written for
// php-fpm (WordPress, DokuWiki, Adminer...), each request in a fresh fork
// of this master. Start it with WorkerPool({ script: <this file>,
// isolated: true, env: { PHP_ZYGOTE_DOCROOT, PHP_ZYGOTE_BOOT? } }).
//
// Everything at the top level of this file is at global scope, which is
// where the requested script must run: its top-level variables are then
// globals, as under php-fpm ($conf in DokuWiki, $wpdb in WordPress). So
// this file keeps no variables of its own and does nothing but the
// steps; see src/Classic/Docroot.php.
declare(strict_types=1);

\Zygote\Classic\Docroot::prepareMaster();
require __DIR__ . '/docroot-functions.php';
if (\Zygote\Classic\Docroot::bootFile() !== null && !\Zygote\Classic\Docroot::reusesWorkers()) {
    require \Zygote\Classic\Docroot::bootFile();
}
\Zygote\Classic\Docroot::afterBoot();

if (\Zygote\Classic\Docroot::reusesWorkers()) {
    // Returns in no process: each fork serves its requests through
    // php/docroot-request.php, one fresh PHP request per job.
    \Zygote\Classic\Docroot::serveRequests(\Zygote\Zygote::forkPerWorker());
}

// Returns in each forked worker, with its one request.
\Zygote\Classic\Docroot::begin(\Zygote\Zygote::forkPerJob());
require \Zygote\Classic\Docroot::script();
