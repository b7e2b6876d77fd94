<?php

declare(strict_types=1);

namespace Zygote\Http;

use Zygote\Job;

/**
 * Sends a response in parts: start() fixes status and headers, write()
 * sends a chunk at once (Node forwards it to the client with chunked
 * encoding). What the handler returns afterwards is the last chunk.
 */
final class ResponseStream
{
    private bool $started = false;

    public function __construct(private readonly Job $job)
    {
    }

    /** @param array<string, string|list<string>> $headers */
    public function start(int $status = 200, array $headers = []): void
    {
        if ($this->started) {
            throw new \LogicException('the response has already started');
        }
        $this->started = true;
        $this->job->write('', ['status' => $status, 'headers' => Response::headerPairs($headers)]);
    }

    public function write(string $chunk): void
    {
        if (!$this->started) {
            $this->start();
        }
        if ($chunk !== '') {
            $this->job->write($chunk);
        }
    }

    public function started(): bool
    {
        return $this->started;
    }
}
