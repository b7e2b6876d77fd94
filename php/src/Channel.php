<?php

declare(strict_types=1);

namespace Zygote;

/**
 * Frames over one Unix stream socket, blocking. Payloads are read with a
 * single recv of exactly their length (MSG_WAITALL) and written without
 * gluing large bodies to their header, so a 16 MB body is never copied in
 * PHP on its way through.
 */
final class Channel
{
    /** Below this, header + context + body go out in one write. */
    private const GLUE_LIMIT = 65536;

    public function __construct(
        private readonly \Socket $socket,
        private readonly int $maxFrameSize,
    ) {
    }

    /**
     * The next frame, or null when the peer closed the channel between
     * frames. A close in the middle of a frame is a ProtocolException; a
     * whole frame whose context cannot be decoded is an
     * InvalidContextException, after which reading can go on.
     */
    public function read(): ?Frame
    {
        $header = $this->readExactly(Frame::HEADER_SIZE, true);
        if ($header === null) {
            return null;
        }
        [$id, $flags, $contextLength, $bodyLength] = Frame::decodeHeader($header, $this->maxFrameSize);
        $json = $this->readExactly($contextLength, false);
        $body = $this->readExactly($bodyLength, false);
        return new Frame($id, $flags, Frame::decodeContext($json, $id), $body);
    }

    /**
     * Like read(), for the control socket: the header is read with recvmsg,
     * so fds sent along with the frame (SCM_RIGHTS) are returned as well.
     * Received fds arrive as Socket objects (sockets) or stream resources.
     *
     * @return array{Frame, list<\Socket|resource>}|null
     */
    public function readWithFds(int $maxFds): ?array
    {
        $message = [
            'buffer_size' => Frame::HEADER_SIZE,
            'controllen' => socket_cmsg_space(SOL_SOCKET, SCM_RIGHTS, $maxFds),
        ];
        // MSG_CMSG_CLOEXEC: a worker's channel must not leak into the
        // processes its handler starts (exec, proc_open, mail), where it
        // could be written to, or keep the channel open after the worker died.
        $flags = MSG_WAITALL | (defined('MSG_CMSG_CLOEXEC') ? MSG_CMSG_CLOEXEC : 0);
        do {
            $got = socket_recvmsg($this->socket, $message, $flags);
        } while ($got === false && socket_last_error($this->socket) === SOCKET_EINTR);
        if ($got === false) {
            throw new ChannelException('recvmsg failed: ' . socket_strerror(socket_last_error($this->socket)));
        }
        if ($got === 0) {
            return null;
        }
        $fds = [];
        foreach ($message['control'] ?? [] as $part) {
            if ($part['level'] === SOL_SOCKET && $part['type'] === SCM_RIGHTS) {
                array_push($fds, ...$part['data']);
            }
        }
        $header = $message['iov'][0];
        if (strlen($header) < Frame::HEADER_SIZE) {
            $header .= $this->readExactly(Frame::HEADER_SIZE - strlen($header), false);
        }
        [$id, $flags, $contextLength, $bodyLength] = Frame::decodeHeader($header, $this->maxFrameSize);
        $json = $this->readExactly($contextLength, false);
        $body = $this->readExactly($bodyLength, false);
        return [new Frame($id, $flags, Frame::decodeContext($json, $id), $body), $fds];
    }

    /**
     * Sends a frame. Throws FrameTooLargeException (before writing anything)
     * when it would exceed the peer's maximum frame size, and
     * \JsonException when the context cannot be encoded.
     *
     * @param array<string, mixed> $context
     */
    public function write(int $id, int $flags, array $context, string $body): void
    {
        $json = Frame::encodeContext($context);
        $size = strlen($json) + strlen($body);
        if ($size > $this->maxFrameSize) {
            throw new FrameTooLargeException("a frame of $size bytes exceeds maxFrameSize ({$this->maxFrameSize})");
        }
        $header = Frame::encodeHeader($id, $flags, strlen($json), strlen($body));
        if (strlen($body) < self::GLUE_LIMIT) {
            $this->writeAll($header . $json . $body);
        } else {
            $this->writeAll($header . $json);
            $this->writeAll($body);
        }
    }

    /** @param array<string, mixed> $context */
    public function control(string $type, array $context = []): void
    {
        $this->write(0, Frame::CONTROL, ['type' => $type] + $context, '');
    }

    public function close(): void
    {
        socket_close($this->socket);
    }

    private function readExactly(int $length, bool $eofAllowed): ?string
    {
        if ($length === 0) {
            return '';
        }
        $data = '';
        while (strlen($data) < $length) {
            $want = $length - strlen($data);
            $got = socket_recv($this->socket, $chunk, $want, MSG_WAITALL);
            if ($got === false) {
                $errno = socket_last_error($this->socket);
                if ($errno === SOCKET_EINTR) {
                    continue;
                }
                throw new ChannelException('recv failed: ' . socket_strerror($errno));
            }
            if ($got === 0) {
                if ($data === '' && $eofAllowed) {
                    return null;
                }
                throw new ProtocolException("channel closed in the middle of a frame ($length bytes expected, " . strlen($data) . ' read)');
            }
            // Usually all of it in one go; a signal or an fd boundary can cut a read short.
            $data = $data === '' ? $chunk : $data . $chunk;
        }
        return $data;
    }

    private function writeAll(string $data): void
    {
        $length = strlen($data);
        $offset = 0;
        while ($offset < $length) {
            // MSG_NOSIGNAL: a peer that went away must give EPIPE here, not kill
            // the process with SIGPIPE in the middle of a frame.
            $sent = socket_send($this->socket, $offset === 0 ? $data : substr($data, $offset), $length - $offset, MSG_NOSIGNAL);
            if ($sent === false) {
                $errno = socket_last_error($this->socket);
                if ($errno === SOCKET_EINTR) {
                    continue;
                }
                throw new ChannelException('write failed: ' . socket_strerror($errno));
            }
            $offset += $sent;
        }
    }
}
