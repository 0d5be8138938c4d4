/**
 * Reading a file the user named: regular files only. The type is checked on the open descriptor
 * (fstat), opened non-blocking, so a directory is named as one and a FIFO or device can never
 * block the CLI; the size is checked before anything is read.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { InvalidJobInputError } from './api';

function kindOf(st: ReturnType<typeof fstatSync>): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** The bytes of a regular file of at most `maxBytes`; every problem is an InvalidJobInputError naming `where`. */
export function readRegularFile(file: string, where: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InvalidJobInputError(
      `${where}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message}`,
      { cause: err },
    );
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new InvalidJobInputError(`${where}: is ${kindOf(st)}; give a regular file`);
    if (st.size > maxBytes)
      throw new InvalidJobInputError(`${where}: ${st.size} bytes is more than the ${maxBytes} allowed`);
    const buf = Buffer.alloc(st.size);
    let read = 0;
    while (read < st.size) {
      const n = readSync(fd, buf, read, st.size - read, read);
      if (n === 0) break;
      read += n;
    }
    return buf.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}
