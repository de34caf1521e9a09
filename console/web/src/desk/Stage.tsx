import { useEffect, useRef } from 'react';
import { Typography } from 'antd';
import { useT } from '../i18n';

export type Layout = 'pip' | 'split' | 'grid';
export type Tile = { key: string; stream: MediaStream | null; label: string; testid: string; muted?: boolean; rotate?: number; mirror?: boolean; onPlaying?: () => void };

// Vid binds a MediaStream to a <video> (srcObject cannot be a prop).
export function Vid({ tile, style }: { tile: Tile; style?: React.CSSProperties }) {
  const v = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (v.current && v.current.srcObject !== tile.stream) v.current.srcObject = tile.stream;
  }, [tile.stream]);
  const rot = tile.rotate || 0;
  const tf = [rot ? `rotate(${rot}deg)` : '', tile.mirror ? 'scaleX(-1)' : ''].filter(Boolean).join(' ');
  return (
    <video ref={v} autoPlay playsInline muted={tile.muted} aria-label={tile.label} data-testid={tile.testid} data-rotate={rot}
      onPlaying={tile.onPlaying}
      style={{ width: '100%', height: '100%', objectFit: 'contain', background: '#000', display: 'block', transform: tf || undefined, transition: 'transform .2s', ...style }} />
  );
}

function Box({ tile, style }: { tile?: Tile; style?: React.CSSProperties }) {
  const t = useT();
  return (
    <div style={{ position: 'relative', background: '#000', aspectRatio: '16/9', overflow: 'hidden', borderRadius: 4, ...style }} data-tile={tile?.key || 'empty'}>
      {tile ? <Vid tile={tile} /> : <Typography.Text style={{ color: '#888', position: 'absolute', inset: 0, display: 'grid', placeItems: 'center' }}>{t('tileEmpty')}</Typography.Text>}
      {tile && <span style={{ position: 'absolute', left: 6, top: 4, color: '#fff', fontSize: 12, textShadow: '0 0 3px #000' }}>{tile.label}</span>}
    </div>
  );
}

// Stage lays the call's videos out: picture-in-picture (main + a small
// overlay), two side by side, or a 2x2 grid (cameras and screen shares).
// The first tile is the main view (the page swaps the order).
export default function Stage({ layout, tiles }: { layout: Layout; tiles: Tile[] }) {
  const [a, b, ...rest] = tiles;
  if (layout === 'grid') {
    const four = [...tiles.slice(0, 4)];
    while (four.length < 4) four.push(undefined as unknown as Tile);
    return (
      <div data-testid="stage" data-layout="grid" style={{ display: 'grid', gridTemplateColumns: '1fr 1fr', gap: 6 }}>
        {four.map((tl, i) => <Box key={tl?.key || 'e' + i} tile={tl} />)}
      </div>
    );
  }
  const extra = rest.length > 0 && (
    <div style={{ display: 'grid', gridTemplateColumns: '1fr 1fr', gap: 6, marginTop: 6 }}>{rest.map((tl) => <Box key={tl.key} tile={tl} />)}</div>
  );
  if (layout === 'split') {
    return (
      <div data-testid="stage" data-layout="split">
        <div style={{ display: 'grid', gridTemplateColumns: '1fr 1fr', gap: 6 }}><Box key={a.key} tile={a} /><Box key={b.key} tile={b} /></div>
        {extra}
      </div>
    );
  }
  return (
    <div data-testid="stage" data-layout="pip">
      <div style={{ position: 'relative' }}>
        <Box key={a.key} tile={a} />
        <Box key={b.key} tile={b} style={{ position: 'absolute', right: 8, bottom: 8, width: '28%', border: '2px solid #fff', zIndex: 1 }} />
      </div>
      {extra}
    </div>
  );
}
