import { describe, expect, it } from 'vitest';
import { errorText, splitToken, tokenQueryValue } from './api';

describe('errorText', () => {
  it('shows a string detail', () => {
    expect(errorText({ detail: 'Agent not found' }, 404)).toBe('Agent not found');
  });

  it('joins validation entries readably (defect 16)', () => {
    const body = {
      detail: [
        { type: 'int_parsing', loc: ['body', 'interval_seconds'], msg: 'Input should be a valid integer', input: 'x' },
        { type: 'missing', loc: ['body'], msg: 'Field required', input: null },
      ],
    };
    expect(errorText(body, 422)).toBe('interval_seconds: Input should be a valid integer; Field required');
  });

  it('falls back to HTTP <status>', () => {
    expect(errorText(null, 500)).toBe('HTTP 500');
    expect(errorText({ detail: '' }, 502)).toBe('HTTP 502');
    expect(errorText({ detail: [{}] }, 422)).toBe('HTTP 422');
    expect(errorText({ detail: { x: 1 } }, 400)).toBe('HTTP 400');
    expect(errorText('Internal Server Error', 500)).toBe('HTTP 500');
  });
});

describe('splitToken', () => {
  it('takes the token out of the URL, keeping the rest', () => {
    expect(splitToken('http://127.0.0.1:8000/?token=abc#/fleets/1/agents')).toEqual({
      token: 'abc',
      url: 'http://127.0.0.1:8000/#/fleets/1/agents',
    });
    expect(splitToken('http://h/?a=1&token=t0k&b=2')).toEqual({ token: 't0k', url: 'http://h/?a=1&b=2' });
  });

  it('keeps + and / literally, decodes percent escapes', () => {
    expect(splitToken('http://h/?token=a+b/c=').token).toBe('a+b/c=');
    expect(splitToken('http://h/?token=a%26b').token).toBe('a&b');
  });

  it('leaves URLs without a token alone', () => {
    expect(splitToken('http://h/#/fleets')).toEqual({ token: null, url: 'http://h/#/fleets' });
    expect(splitToken('http://h/?x=1')).toEqual({ token: null, url: 'http://h/?x=1' });
  });

  it('treats an empty token as none but still removes it', () => {
    expect(splitToken('http://h/?token=')).toEqual({ token: null, url: 'http://h/' });
  });
});

describe('tokenQueryValue', () => {
  it('keeps URL-safe characters literal and encodes separators', () => {
    expect(tokenQueryValue('abc-_.~+/=')).toBe('abc-_.~+/=');
    expect(tokenQueryValue('a&b#c d%')).toBe('a%26b%23c%20d%25');
    expect(tokenQueryValue('é')).toBe('%C3%A9');
  });
});
