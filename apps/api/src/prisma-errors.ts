/** Recognising the database errors the API turns into user-facing ones. */
import { Prisma } from '@distillery/db';

export function isUniqueViolation(e: unknown): boolean {
  return e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002';
}
