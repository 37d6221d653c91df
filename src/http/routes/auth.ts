import { Router } from 'express';
import type { AppDeps } from '../deps';
export function authRouter(_deps: AppDeps): Router {
  return Router();
}
