<?php

declare(strict_types=1);

namespace Zygote\Classic;

use Zygote\Http\HeaderBytes;
use Zygote\Job;

/**
 * The response of one classic request, fed by what reaches the SAPI: the
 * bytes PHP's output layer writes (after every ob_start() buffer of the
 * script passed them on) and each flush(). As under php-fpm, the status
 * and headers are those PHP had when its first byte of output left the
 * buffers (PHP marks the headers sent at that moment, so later header()
 * calls warn "headers already sent").
 *
 * Frames: a response that ends without a flush() and stays under
 * STREAM_AT goes as one frame { status, headers } + body, so the HTTP
 * front can send a Content-Length. flush(), or more output than
 * STREAM_AT, starts a streamed response: the first MORE frame carries
 * status and headers with the bytes so far, later MORE frames the bytes
 * written since, and the final frame (flags 0, empty context) the rest.
 */
final class ResponseOutput
{
    /** Past this much unsent output, it goes out as a part without waiting for flush(): the body is never all in memory. */
    private const STREAM_AT = 1024 * 1024;

    private string $pending = '';
    private bool $streaming = false;
    private bool $done = false;
    /** After fastcgi_finish_request(): later output goes nowhere, as under php-fpm. */
    private bool $closed = false;
    /** @var array{status: int, headers: list<array{string, string}>}|null */
    private ?array $head = null;

    /** The worker's pid: a child the script forks shares this object, and its output must not reach the parent's client. */
    private readonly int $pid;

    public function __construct(private readonly Job $job)
    {
        $this->pid = getmypid();
    }

    /** ub_write: output that left PHP's buffers. */
    public function write(string $bytes): void
    {
        if ($this->closed || getmypid() !== $this->pid) {
            return;
        }
        if ($this->done) {
            // After the final frame (destructors, late shutdown work): the log.
            fwrite(\Zygote\Runtime::stderr(), $bytes);
            return;
        }
        $this->head ??= self::head();
        $this->pending .= $bytes;
        if (strlen($this->pending) >= self::STREAM_AT) {
            $this->sendPart();
        }
    }

    /** flush(): what reached the SAPI goes to the client now. */
    public function flush(): void
    {
        if (!$this->done && $this->pending !== '' && getmypid() === $this->pid) {
            $this->sendPart();
        }
    }

    /** The last frame. Headers must have been sent (Sapi::sendHeaders) if no output did it. */
    /** The response is complete now, and whatever the script prints later is dropped (fastcgi_finish_request()). */
    public function close(): void
    {
        $this->finish();
        $this->closed = true;
    }

    public function finish(): void
    {
        if ($this->done || getmypid() !== $this->pid) {
            return;
        }
        $this->done = true;
        $this->head ??= self::head();
        if ($this->streaming) {
            $this->job->respond($this->pending);
        } else {
            $this->job->respond($this->pending, $this->head);
        }
        $this->pending = '';
    }

    private function sendPart(): void
    {
        $context = $this->streaming ? [] : ($this->head ?? self::head());
        $this->streaming = true;
        $chunk = $this->pending;
        $this->pending = '';
        $this->job->write($chunk, $context);
    }

    /**
     * Status and headers as PHP holds them now, in the frame's form.
     *
     * @return array{status: int, headers: list<array{string, string}>}
     */
    private static function head(): array
    {
        $pairs = [];
        foreach (headers_list() as $line) {
            $colon = strpos($line, ':');
            if ($colon === false) {
                continue;
            }
            $pairs[] = [substr($line, 0, $colon), ltrim(substr($line, $colon + 1), " \t")];
        }
        $status = http_response_code();
        return ['status' => is_int($status) && $status > 0 ? $status : 200, 'headers' => HeaderBytes::encodePairs($pairs)];
    }
}
